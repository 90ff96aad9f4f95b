package keystoretest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
)

// Run checks the kmsclient.KeyStore contract in subtests. newStore returns
// an empty store for one subtest (a store over a shared service must be
// emptied first); Run closes every store it gets.
func Run(t *testing.T, newStore func(t *testing.T) kmsclient.KeyStore) {
	tests := []struct {
		name string
		test func(t *testing.T, s kmsclient.KeyStore)
	}{
		{"CreateThenGetReturnsValue", testCreateGet},
		{"CreateKeepsNoReferenceToValue", testCreateCopies},
		{"GetReturnsACopy", testGetCopies},
		{"BinaryValuesRoundTrip", testBinaryValue},
		{"CreateExistingNameFailsAndKeepsValue", testCreateExisting},
		{"GetMissingIsNotFound", testGetMissing},
		{"DeleteRemovesKey", testDelete},
		{"DeleteMissingIsNotFound", testDeleteMissing},
		{"CreateAfterDeleteSucceeds", testRecreate},
		{"ListEmpty", testListEmpty},
		{"ListAllSorted", testListAll},
		{"ListByPrefix", testListPrefix},
		{"ListPaginates", testListPages},
		{"ListStartsAt", testListStart},
		{"ConcurrentCreateOfOneNameHasOneWinner", testConcurrentCreate},
		{"ConcurrentCreateOfDistinctNamesAllSucceed", testConcurrentDistinct},
		{"InvalidNamesAreRejected", testInvalidNames},
		{"InvalidPrefixIsRejected", testInvalidPrefix},
		{"StatusReportsReachable", testStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.test(t, s)
		})
	}
}

func mustCreate(t *testing.T, s kmsclient.KeyStore, name string, value []byte) {
	t.Helper()
	if err := s.Create(t.Context(), name, value); err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
}

func mustGet(t *testing.T, s kmsclient.KeyStore, name string) []byte {
	t.Helper()
	value, err := s.Get(t.Context(), name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	return value
}

func mustList(t *testing.T, s kmsclient.KeyStore, prefix, start string, n int) ([]string, string) {
	t.Helper()
	names, next, err := s.List(t.Context(), prefix, start, n)
	if err != nil {
		t.Fatalf("List(%q, %q, %d): %v", prefix, start, n, err)
	}
	return names, next
}

func record(name string) []byte {
	return []byte(`{"version":1,"algorithm":"AES256","bytes":"` + name + `"}`)
}

func testCreateGet(t *testing.T, s kmsclient.KeyStore) {
	mustCreate(t, s, "key-1", record("one"))
	if got, want := mustGet(t, s, "key-1"), record("one"); !bytes.Equal(got, want) {
		t.Errorf("Get = %q, want %q", got, want)
	}
}

func testCreateCopies(t *testing.T, s kmsclient.KeyStore) {
	value := record("original")
	mustCreate(t, s, "key-1", value)
	copy(value, "XXXXXXXX")
	if got, want := mustGet(t, s, "key-1"), record("original"); !bytes.Equal(got, want) {
		t.Errorf("Get after changing the created slice = %q, want %q", got, want)
	}
}

func testGetCopies(t *testing.T, s kmsclient.KeyStore) {
	mustCreate(t, s, "key-1", record("original"))
	clear(mustGet(t, s, "key-1"))
	if got, want := mustGet(t, s, "key-1"), record("original"); !bytes.Equal(got, want) {
		t.Errorf("Get after clearing a returned slice = %q, want %q", got, want)
	}
}

func testBinaryValue(t *testing.T, s kmsclient.KeyStore) {
	value := make([]byte, 256)
	for i := range value {
		value[i] = byte(i)
	}
	mustCreate(t, s, "binary", value)
	if got := mustGet(t, s, "binary"); !bytes.Equal(got, value) {
		t.Errorf("Get = %x, want %x", got, value)
	}
}

func testCreateExisting(t *testing.T, s kmsclient.KeyStore) {
	mustCreate(t, s, "key-1", record("first"))
	if err := s.Create(t.Context(), "key-1", record("second")); !errors.Is(err, kmsclient.ErrKeyExists) {
		t.Fatalf("second Create = %v, want %v", err, kmsclient.ErrKeyExists)
	}
	if got, want := mustGet(t, s, "key-1"), record("first"); !bytes.Equal(got, want) {
		t.Errorf("Get = %q, want the first value %q", got, want)
	}
}

func testGetMissing(t *testing.T, s kmsclient.KeyStore) {
	if _, err := s.Get(t.Context(), "missing"); !errors.Is(err, kmsclient.ErrKeyNotFound) {
		t.Errorf("Get(missing) = %v, want %v", err, kmsclient.ErrKeyNotFound)
	}
}

func testDelete(t *testing.T, s kmsclient.KeyStore) {
	mustCreate(t, s, "key-1", record("one"))
	mustCreate(t, s, "key-2", record("two"))
	if err := s.Delete(t.Context(), "key-1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(t.Context(), "key-1"); !errors.Is(err, kmsclient.ErrKeyNotFound) {
		t.Errorf("Get after Delete = %v, want %v", err, kmsclient.ErrKeyNotFound)
	}
	if names, _ := mustList(t, s, "", "", 0); !slices.Equal(names, []string{"key-2"}) {
		t.Errorf("List after Delete = %q, want [key-2]", names)
	}
}

func testDeleteMissing(t *testing.T, s kmsclient.KeyStore) {
	if err := s.Delete(t.Context(), "missing"); !errors.Is(err, kmsclient.ErrKeyNotFound) {
		t.Errorf("Delete(missing) = %v, want %v", err, kmsclient.ErrKeyNotFound)
	}
}

func testRecreate(t *testing.T, s kmsclient.KeyStore) {
	mustCreate(t, s, "key-1", record("first"))
	if err := s.Delete(t.Context(), "key-1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustCreate(t, s, "key-1", record("second"))
	if got, want := mustGet(t, s, "key-1"), record("second"); !bytes.Equal(got, want) {
		t.Errorf("Get = %q, want %q", got, want)
	}
}

func testListEmpty(t *testing.T, s kmsclient.KeyStore) {
	names, next := mustList(t, s, "", "", 0)
	if len(names) != 0 || next != "" {
		t.Errorf("List on an empty store = %q, %q; want none", names, next)
	}
}

var listNames = []string{"b-2", "a", "b-1", "B", "c_3", "b", "ab", "0"}

func createAll(t *testing.T, s kmsclient.KeyStore, names []string) {
	t.Helper()
	for _, name := range names {
		mustCreate(t, s, name, record(name))
	}
}

func testListAll(t *testing.T, s kmsclient.KeyStore) {
	createAll(t, s, listNames)
	want := slices.Sorted(slices.Values(listNames))
	for _, n := range []int{0, -1, len(want), len(want) + 1} {
		names, next := mustList(t, s, "", "", n)
		if !slices.Equal(names, want) || next != "" {
			t.Errorf("List(n=%d) = %q, %q; want %q, \"\"", n, names, next, want)
		}
	}
}

func testListPrefix(t *testing.T, s kmsclient.KeyStore) {
	createAll(t, s, listNames)
	tests := []struct {
		prefix string
		want   []string
	}{
		{"b", []string{"b", "b-1", "b-2"}},
		{"b-", []string{"b-1", "b-2"}},
		{"B", []string{"B"}},
		{"a", []string{"a", "ab"}},
		{"ab", []string{"ab"}},
		{"z", []string{}},
		{"b-1", []string{"b-1"}},
	}
	for _, tt := range tests {
		names, next := mustList(t, s, tt.prefix, "", 0)
		if !slices.Equal(names, tt.want) || next != "" {
			t.Errorf("List(prefix=%q) = %q, %q; want %q, \"\"", tt.prefix, names, next, tt.want)
		}
	}
}

func testListPages(t *testing.T, s kmsclient.KeyStore) {
	var all []string
	for i := range 7 {
		all = append(all, fmt.Sprintf("page-%d", i))
	}
	createAll(t, s, all)
	createAll(t, s, []string{"other", "pag"}) // outside the prefix

	for _, n := range []int{1, 2, 3, 6, 7} {
		var got []string
		start := ""
		for pages := 0; ; pages++ {
			if pages > len(all) {
				t.Fatalf("n=%d: listing does not end", n)
			}
			names, next := mustList(t, s, "page-", start, n)
			if len(names) > n {
				t.Fatalf("n=%d: page of %d names", n, len(names))
			}
			got = append(got, names...)
			if next == "" {
				break
			}
			if len(names) != n {
				t.Errorf("n=%d: short page %q before the end", n, names)
			}
			start = next
		}
		if !slices.Equal(got, all) {
			t.Errorf("n=%d: pages joined = %q, want %q", n, got, all)
		}
	}
}

func testListStart(t *testing.T, s kmsclient.KeyStore) {
	createAll(t, s, listNames)
	tests := []struct {
		prefix, start string
		want          []string
	}{
		{"", "b", []string{"b", "b-1", "b-2", "c_3"}},
		{"", "b-", []string{"b-1", "b-2", "c_3"}},
		{"b", "b-2", []string{"b-2"}},
		{"b", "c", []string{}},
		{"", "0", slices.Sorted(slices.Values(listNames))},
	}
	for _, tt := range tests {
		names, next := mustList(t, s, tt.prefix, tt.start, 0)
		if !slices.Equal(names, tt.want) || next != "" {
			t.Errorf("List(prefix=%q, start=%q) = %q, %q; want %q, \"\"", tt.prefix, tt.start, names, next, tt.want)
		}
	}
}

func testConcurrentCreate(t *testing.T, s kmsclient.KeyStore) {
	const writers = 16
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { errs[i] = s.Create(t.Context(), "contended", record(fmt.Sprint(i))) })
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both created the key", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, kmsclient.ErrKeyExists):
			t.Errorf("writer %d: Create = %v, want nil or %v", i, err, kmsclient.ErrKeyExists)
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the key")
	}
	if got, want := mustGet(t, s, "contended"), record(fmt.Sprint(winner)); !bytes.Equal(got, want) {
		t.Errorf("Get = %q, want the winner's value %q", got, want)
	}
}

func testConcurrentDistinct(t *testing.T, s kmsclient.KeyStore) {
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() { errs[i] = s.Create(t.Context(), fmt.Sprintf("distinct-%d", i), record(fmt.Sprint(i))) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Create(distinct-%d) = %v", i, err)
		}
	}
	if names, _ := mustList(t, s, "distinct-", "", 0); len(names) != writers {
		t.Errorf("List = %q, want %d names", names, writers)
	}
}

// InvalidNames are names every store must refuse.
var InvalidNames = []string{
	"", "_", ".", "..", "../escape", "a/b", `a\b`, "a.b", "a b", "-a", "a-",
	"ä", "a\x00b", "key\n", strings.Repeat("k", kmsclient.MaxKeyNameLength+1),
}

func testInvalidNames(t *testing.T, s kmsclient.KeyStore) {
	for _, name := range InvalidNames {
		if err := s.Create(t.Context(), name, record("x")); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("Create(%q) = %v, want %v", name, err, kmsclient.ErrInvalidKeyName)
		}
		if _, err := s.Get(t.Context(), name); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("Get(%q) = %v, want %v", name, err, kmsclient.ErrInvalidKeyName)
		}
		if err := s.Delete(t.Context(), name); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("Delete(%q) = %v, want %v", name, err, kmsclient.ErrInvalidKeyName)
		}
	}
	longest := strings.Repeat("k", kmsclient.MaxKeyNameLength)
	mustCreate(t, s, longest, record("x"))
	if names, _ := mustList(t, s, "", "", 0); !slices.Equal(names, []string{longest}) {
		t.Errorf("List = %q, want only the 80-character name", names)
	}
}

func testInvalidPrefix(t *testing.T, s kmsclient.KeyStore) {
	for _, prefix := range []string{"../", "a/", "a.", "*", "a b"} {
		if _, _, err := s.List(t.Context(), prefix, "", 0); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("List(prefix=%q) = %v, want %v", prefix, err, kmsclient.ErrInvalidKeyName)
		}
	}
}

func testStatus(t *testing.T, s kmsclient.KeyStore) {
	state, err := s.Status(t.Context())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if state.Latency < 0 {
		t.Errorf("Latency = %v, want >= 0", state.Latency)
	}
}
