package kmip

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	ovh "github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/keystoretest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pykmipServer.s.stop()
	os.Exit(code)
}

// newStore returns a store over the shared server, emptied of every
// Secret Data object, closed when the test ends.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(startPyKMIP(t).config())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.request(t.Context(), &payloads.LocateRequestPayload{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range resp.(*payloads.LocateResponsePayload).UniqueIdentifier {
		if _, err := s.request(t.Context(), &payloads.DestroyRequestPayload{UniqueIdentifier: id}); err != nil {
			t.Fatalf("empty the server: destroy %s: %v", id, err)
		}
	}
	return s
}

func TestStoreConformance(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) kmsclient.KeyStore { return newStore(t) })
}

// TestEmbeddedKMSOverKMIP seals and opens a data key under an External Key
// kept on the KMIP server, through a second KMS that did not create it.
func TestEmbeddedKMSOverKMIP(t *testing.T) {
	s := newStore(t)
	defer s.Close()
	ctx := t.Context()
	kms := kmsclient.New(s, kmsclient.Config{})
	if err := kms.CreateKey(ctx, "my-key"); err != nil {
		t.Fatal(err)
	}
	dek, err := kms.GenerateKey(ctx, "my-key", []byte("context"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(startPyKMIP(t).config())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	plain, err := kmsclient.New(other, kmsclient.Config{}).Decrypt(ctx, "my-key", dek.Ciphertext, []byte("context"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, dek.Plaintext) {
		t.Fatal("a second KMS over the KMIP server opened a different data key")
	}
	if _, err := kms.RotateKey(ctx, "my-key"); !errors.Is(err, kmsclient.ErrRotationUnsupported) {
		t.Fatalf("RotateKey over KMIP: got %v, want ErrRotationUnsupported", err)
	}
}

// TestKeyIsSecretData checks what the server holds: one Secret Data object
// named after the key whose bytes are the stored value.
func TestKeyIsSecretData(t *testing.T) {
	s := newStore(t)
	defer s.Close()
	value := []byte(`{"version":1,"algorithm":"AES256"}`)
	if err := s.Create(t.Context(), "my-key", value); err != nil {
		t.Fatal(err)
	}
	ids, err := s.locate(t.Context(), "my-key")
	if err != nil || len(ids) != 1 {
		t.Fatalf("locate: %v %v", ids, err)
	}
	resp, err := s.request(t.Context(), &payloads.GetRequestPayload{UniqueIdentifier: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.(*payloads.GetResponsePayload)
	if got.ObjectType != ovh.ObjectTypeSecretData {
		t.Fatalf("object type %v, want Secret Data", got.ObjectType)
	}
	b, err := got.Object.(*ovh.SecretData).KeyBlock.GetBytes()
	if err != nil || !bytes.Equal(b, value) {
		t.Fatalf("stored bytes %q (%v), want %q", b, err, value)
	}
}

// TestDuplicateNameLowestIDOwns registers a second object of a key's name
// behind the store's back (PyKMIP allows it): Get keeps answering with the
// first, Create refuses the name, and Delete removes both.
func TestDuplicateNameLowestIDOwns(t *testing.T) {
	s := newStore(t)
	defer s.Close()
	ctx := t.Context()
	if err := s.Create(ctx, "dup", []byte("first")); err != nil {
		t.Fatal(err)
	}
	second := []byte("second")
	_, err := s.request(ctx, &payloads.RegisterRequestPayload{
		ObjectType: ovh.ObjectTypeSecretData,
		TemplateAttribute: ovh.TemplateAttribute{Attribute: []ovh.Attribute{
			{AttributeName: ovh.AttributeNameName, AttributeValue: ovh.Name{NameValue: "dup", NameType: ovh.NameTypeUninterpretedTextString}},
		}},
		Object: &ovh.SecretData{SecretDataType: ovh.SecretDataTypePassword, KeyBlock: ovh.KeyBlock{
			KeyFormatType: ovh.KeyFormatTypeOpaque,
			KeyValue:      &ovh.KeyValue{Plain: &ovh.PlainKeyValue{KeyMaterial: ovh.KeyMaterial{Bytes: &second}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "dup"); err != nil || string(v) != "first" {
		t.Fatalf("Get = %q, %v; want the first object", v, err)
	}
	if err := s.Create(ctx, "dup", []byte("third")); !errors.Is(err, kmsclient.ErrKeyExists) {
		t.Fatalf("Create of a taken name: %v", err)
	}
	if err := s.Delete(ctx, "dup"); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.locate(ctx, "dup"); err != nil || len(ids) != 0 {
		t.Fatalf("after Delete: %v %v", ids, err)
	}
}

// TestCreateRaceHasOneWinner interleaves two Creates of one name by hand:
// the second passes its Locate before the first registers, so both
// register; the first (lower id) keeps the name, the second is
// ErrKeyExists and withdraws its object.
func TestCreateRaceHasOneWinner(t *testing.T) {
	s := newStore(t)
	defer s.Close()
	other, err := New(startPyKMIP(t).config())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := t.Context()
	var firstErr error
	other.beforeRegister = func() {
		other.beforeRegister = nil
		firstErr = s.Create(ctx, "race", []byte("first"))
	}
	if err := other.Create(ctx, "race", []byte("second")); !errors.Is(err, kmsclient.ErrKeyExists) {
		t.Errorf("the later Create: %v, want ErrKeyExists", err)
	}
	if firstErr != nil {
		t.Errorf("the earlier Create: %v", firstErr)
	}
	if v, err := other.Get(ctx, "race"); err != nil || string(v) != "first" {
		t.Errorf("Get = %q, %v; want the first value", v, err)
	}
	if ids, err := s.locate(ctx, "race"); err != nil || len(ids) != 1 {
		t.Errorf("objects named race: %v %v; want the winner's only", ids, err)
	}
}

func TestIDOrder(t *testing.T) {
	for _, tc := range []struct {
		ids  []string
		want string
	}{
		{[]string{"10", "9"}, "9"},
		{[]string{"2", "10", "11"}, "2"},
		{[]string{"b-uuid", "a-uuid"}, "a-uuid"},
		{[]string{"a-uuid", "7"}, "7"},
	} {
		if got, _ := lowest(tc.ids); got != tc.want {
			t.Errorf("lowest(%q) = %q, want %q", tc.ids, got, tc.want)
		}
	}
	if _, ok := lowest(nil); ok {
		t.Error("lowest(nil) found an id")
	}
}

// TestServerDownIsUnavailable: a refused connection and a server that
// accepts but never answers are both ErrUnavailable, the second within the
// configured timeout.
func TestServerDownIsUnavailable(t *testing.T) {
	cfg := startPyKMIP(t).config()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	cfg.Endpoint = refused
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Fatalf("Get with the server down: %v, want ErrUnavailable", err)
	}
	if _, err := s.Status(t.Context()); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Fatalf("Status with the server down: %v, want ErrUnavailable", err)
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg.Endpoint = silent.Addr().String()
	cfg.Timeout = 500 * time.Millisecond
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	began := time.Now()
	_, err = s2.Get(context.Background(), "k")
	if !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Fatalf("Get from a silent server: %v, want ErrUnavailable", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("Get from a silent server took %v with a 500ms timeout", d)
	}
}

// TestServerGoneAfterConnectingIsUnavailable breaks an established
// connection (a forwarder in front of the server goes away): the next
// calls are ErrUnavailable, not a panic or a hang, and once the server is
// reachable again the store reconnects.
func TestServerGoneAfterConnectingIsUnavailable(t *testing.T) {
	srv := startPyKMIP(t)
	newStore(t).Close() // empty the server
	fwd := startForwarder(t, srv.endpoint)
	cfg := srv.config()
	cfg.Endpoint = fwd.addr
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.Create(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	fwd.stop()
	for i := range 3 {
		if _, err := s.Get(ctx, "k"); !errors.Is(err, kmsclient.ErrUnavailable) {
			t.Fatalf("Get %d with the connection gone: %v, want ErrUnavailable", i, err)
		}
	}
	fwd.restart(t)
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get after the server came back: %q, %v", v, err)
	}
}

// forwarder relays TCP connections from addr to a target until stopped.
type forwarder struct {
	addr, target string
	mu           sync.Mutex
	l            net.Listener
	conns        []net.Conn
}

func startForwarder(t *testing.T, target string) *forwarder {
	f := &forwarder{target: target}
	f.listen(t, "127.0.0.1:0")
	t.Cleanup(f.stop)
	return f
}

func (f *forwarder) restart(t *testing.T) { f.listen(t, f.addr) }

func (f *forwarder) listen(t *testing.T, addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.l, f.addr = l, l.Addr().String()
	f.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", f.target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (f *forwarder) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.l.Close()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func TestConfigErrors(t *testing.T) {
	cfg := startPyKMIP(t).config()
	for name, mutate := range map[string]func(*Config){
		"no port":     func(c *Config) { c.Endpoint = "127.0.0.1" },
		"no cert":     func(c *Config) { c.CertFile = "" },
		"missing key": func(c *Config) { c.KeyFile = "/nonexistent" },
		"bad CA":      func(c *Config) { c.CAFile = c.KeyFile },
	} {
		c := cfg
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
