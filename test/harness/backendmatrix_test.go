package harness

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBackendResultsFromTestEvents: go test -json events become cells:
// pass, fail with the first _test.go message under the cell,
// unsupported with the backend's error, a backend that never started as
// not run; versions come from LogBackend's lines.
func TestBackendResultsFromTestEvents(t *testing.T) {
	var events bytes.Buffer
	ev := func(action, test, output string) {
		_ = json.NewEncoder(&events).Encode(map[string]string{"Action": action, "Test": test, "Output": output})
	}
	for _, b := range []string{"minio", "seaweedfs"} {
		ev("run", "TestObjectAPI/"+b, "")
		ev("output", "TestObjectAPI/"+b, "    objectapi_test.go:120: "+backendLogPrefix+b+" v1.2.3\n")
		ev("run", "TestObjectAPI/"+b+"/copies_between_every_encryption", "")
		ev("run", "TestObjectAPI/"+b+"/versions_of_encrypted_objects", "")
	}
	ev("run", "TestObjectAPI/ceph", "")
	ev("output", "TestObjectAPI/ceph", "    cephrgw.go:99: radosgw went away\n")
	ev("output", "TestObjectAPI/ceph", "    objectapi_test.go:118: start: no radosgw\n")
	ev("fail", "TestObjectAPI/ceph", "")
	ev("pass", "TestObjectAPI/minio/copies_between_every_encryption", "")
	ev("output", "TestObjectAPI/seaweedfs/copies_between_every_encryption/sub", "        gateway.go:171: --- s3seal output ---\n")
	ev("output", "TestObjectAPI/seaweedfs/copies_between_every_encryption/sub", "        objectcopy_test.go:42: CopyObject: 500 InternalError\n")
	ev("output", "TestObjectAPI/seaweedfs/copies_between_every_encryption", "        objectcopy_test.go:50: a later error\n")
	ev("fail", "TestObjectAPI/seaweedfs/copies_between_every_encryption", "")
	ev("pass", "TestObjectAPI/minio/versions_of_encrypted_objects", "")
	ev("output", "TestObjectAPI/seaweedfs/versions_of_encrypted_objects", "    objectapi_test.go:600: "+unsupportedLogPrefix+"versioning: 501 NotImplemented\n")
	ev("pass", "TestObjectAPI/seaweedfs/versions_of_encrypted_objects", "")
	ev("run", "TestMCFlow/minio", "")
	ev("pass", "TestMCFlow/minio", "")

	res, err := ReadBackendResults(&events)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Backends, ","); got != "minio,seaweedfs,ceph" {
		t.Errorf("backends %s, want minio,seaweedfs,ceph (KnownBackends order)", got)
	}
	want := map[[2]string]BackendCell{
		{"copies between every encryption", "minio"}:     {Outcome: BackendPass},
		{"copies between every encryption", "seaweedfs"}: {Outcome: BackendFail, Detail: "objectcopy_test.go:42: CopyObject: 500 InternalError"},
		{"versions of encrypted objects", "seaweedfs"}:   {Outcome: BackendUnsupported, Detail: "versioning: 501 NotImplemented"},
		{"versions of encrypted objects", "minio"}:       {Outcome: BackendPass},
	}
	for k, w := range want {
		if got := res.Cells[k]; got != w {
			t.Errorf("cell %v = %+v, want %+v", k, got, w)
		}
	}
	if got := res.NotRun["TestObjectAPI"]["ceph"]; got != "objectapi_test.go:118: start: no radosgw" {
		t.Errorf("ceph not run: %q", got)
	}
	if res.Versions["seaweedfs"] != "v1.2.3" {
		t.Errorf("versions %v", res.Versions)
	}
	if p, f, u := res.Counts("seaweedfs"); p != 0 || f != 1 || u != 1 {
		t.Errorf("seaweedfs counts %d/%d/%d, want 0/1/1", p, f, u)
	}

	var table bytes.Buffer
	if err := RenderBackendTable(&table, res, time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC), "make test-backends"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| feature | minio | seaweedfs | ceph |",
		"| copies between every encryption | pass | **fail** [1] | not run |",
		"| versions of encrypted objects | pass | unsupported [2] | not run |",
		"| README mc flow (kms key create, mb, encrypt set, cp, stat, cat, ls sizes, mirror twice) | pass | not run | not run |",
		"3. ceph, TestObjectAPI: not run, the backend's setup failed: objectapi_test.go:118: start: no radosgw",
	} {
		if !strings.Contains(table.String(), line+"\n") {
			t.Errorf("table lacks the line %q:\n%s", line, table.String())
		}
	}
	doc := "# Doc\n\nbefore\n\n" + BackendTableStart + "\nold\n" + BackendTableEnd + "\n\nafter\n"
	got, err := ReplaceBackendTable(doc, table.String())
	if err != nil || !strings.HasPrefix(got, "# Doc\n\nbefore\n\n"+BackendTableStart) || !strings.HasSuffix(got, BackendTableEnd+"\n\nafter\n") || strings.Contains(got, "old") {
		t.Errorf("ReplaceBackendTable: %v\n%s", err, got)
	}
	if _, err := ReplaceBackendTable("no markers", "x"); err == nil {
		t.Errorf("ReplaceBackendTable without markers: no error")
	}
}

// TestSelectBackends: S3SEAL_BACKENDS chooses the backends; unset is
// MinIO and versitygw, "all" every known one; names are trimmed,
// lower-cased and deduplicated, unknown ones kept for StartBackend to
// refuse.
func TestSelectBackends(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "minio,versitygw",
		"all":                       "minio,minio-nocompat,versitygw,seaweedfs,moto,ceph",
		"seaweedfs, Ceph,seaweedfs": "seaweedfs,ceph",
		"moto":                      "moto",
		"minio,garage":              "minio,garage",
		" minio , versitygw , ":     "minio,versitygw",
	} {
		var got []string
		for _, k := range selectBackends(in) {
			got = append(got, string(k))
		}
		if strings.Join(got, ",") != want {
			t.Errorf("S3SEAL_BACKENDS=%q selects %v, want %s", in, got, want)
		}
	}
}
