package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CephRGW is a single-node Ceph cluster with the RADOS Gateway, from
// Debian's packages (ceph-mon, ceph-osd, radosgw; test/install-host-tools.sh
// installs them): one monitor, one OSD whose object store is memstore (the
// objects live in the OSD's memory, capped at 4 GiB) and radosgw with its
// beast frontend, started for one test. Debian bookworm ships Ceph 16.2
// (Pacific), whose radosgw has no dbstore backend, so the OSD is needed.
type CephRGW struct {
	S3Endpoint // radosgw, the S3 user's keys

	mon, osd, rgw *Process
}

// cephCommands are the Debian packages' binaries StartCephRGW runs.
var cephCommands = []string{"ceph", "ceph-authtool", "monmaptool", "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin"}

// StartCephRGW starts the cluster in a directory of the test, on free
// 127.0.0.1 ports for the monitor and radosgw, with authentication off
// inside the cluster (msgr2 in crc mode: radosgw 16.2 cannot connect to a
// monitor that offers no connection mode) and one S3 user created with
// radosgw-admin. It is ready when a signed ListBuckets succeeds; t.Cleanup
// stops radosgw, the OSD and the monitor.
func StartCephRGW(t testing.TB) *CephRGW {
	t.Helper()
	bins := map[string]string{}
	for _, name := range cephCommands {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("Ceph's %s is required; install Debian's packages with test/install-host-tools.sh ceph (apt-get install radosgw ceph-mon ceph-osd ceph-common): %v", name, err)
		}
		bins[name] = path
	}
	dir := t.TempDir()
	c := &CephRGW{S3Endpoint: S3Endpoint{AccessKey: "rgw-" + randomHex(t, 6), SecretKey: randomHex(t, 20)}}
	monPort, rgwPort := FreePort(t), FreePort(t)
	c.Endpoint = "http://127.0.0.1:" + strconv.Itoa(rgwPort)
	fsid := uuidV4(t)
	conf := filepath.Join(dir, "ceph.conf")
	for _, sub := range []string{"mon", "osd0", "run", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, conf, fmt.Sprintf(`[global]
fsid = %s
mon host = v2:127.0.0.1:%d
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms bind ipv6 = false
ms bind msgr1 = false
ms client mode = crc
ms mon client mode = crc
ms service mode = crc
ms mon service mode = crc
ms cluster mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 1
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 4294967296
run dir = %[3]s/run
log file = %[3]s/$name.log
admin socket = %[3]s/run/$name.$pid.asok
mon data = %[3]s/mon
osd data = %[3]s/osd$id
keyring = %[3]s/keyring
`, fsid, monPort, dir))
	env := BaseEnv(filepath.Join(dir, "home"))
	run := func(name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), startDeadline)
		defer cancel()
		cmd := exec.CommandContext(ctx, bins[name], args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	start := func(name string, args ...string) *Process {
		t.Helper()
		p, err := StartProcess(name, bins[name], args, env, dir, filepath.Join(dir, name+".out"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyring := filepath.Join(dir, "keyring")
	run("ceph-authtool", "--create-keyring", keyring, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *")
	run("monmaptool", "--create", "--addv", "a", fmt.Sprintf("[v2:127.0.0.1:%d]", monPort), "--fsid", fsid, filepath.Join(dir, "monmap"))
	run("ceph-mon", "-c", conf, "-i", "a", "--mkfs", "--monmap", filepath.Join(dir, "monmap"), "--keyring", keyring)
	c.mon = start("ceph-mon", "-c", conf, "-i", "a", "-f")
	t.Cleanup(func() { c.stopAll(t) })

	osdUUID := uuidV4(t)
	id := strings.TrimSpace(run("ceph", "-c", conf, "--connect-timeout", "30", "osd", "new", osdUUID))
	if id != "0" {
		t.Fatalf("ceph osd new: id %q, want 0", id)
	}
	run("ceph-osd", "-c", conf, "-i", id, "--mkfs", "--osd-uuid", osdUUID)
	c.osd = start("ceph-osd", "-c", conf, "-i", id, "-f")
	c.rgw = start("radosgw", "-c", conf, "-n", "client.admin", "-f",
		"--rgw-frontends", fmt.Sprintf("beast endpoint=127.0.0.1:%d", rgwPort))
	if err := c.rgw.WaitReady(t.Context(), c.Endpoint+"/"); err != nil {
		t.Fatalf("radosgw at %s: %v\n--- radosgw output ---\n%s\n--- client.admin.log ---\n%s", c.Endpoint, err, c.rgw.LogTail(40), fileTail(filepath.Join(dir, "client.admin.log"), 40))
	}
	run("radosgw-admin", "-c", conf, "-n", "client.admin", "user", "create", "--uid", "s3seal-test",
		"--display-name", "s3seal test", "--access-key", c.AccessKey, "--secret-key", c.SecretKey)

	ctx, cancel := context.WithTimeout(t.Context(), startDeadline)
	defer cancel()
	for cl := c.Client(t); ; {
		_, err := cl.ListBuckets(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil || c.rgw.Exited() {
			t.Fatalf("radosgw at %s does not serve signed requests: %v\n--- radosgw output ---\n%s", c.Endpoint, err, c.rgw.LogTail(60))
		}
		time.Sleep(4 * pollInterval)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- radosgw log (%s) ---\n%s", c.Endpoint, fileTail(filepath.Join(dir, "client.admin.log"), 60))
		}
	})
	return c
}

// stopAll stops radosgw, then the OSD, then the monitor.
func (c *CephRGW) stopAll(t testing.TB) {
	for _, p := range []*Process{c.rgw, c.osd, c.mon} {
		if p == nil {
			continue
		}
		if err := p.Stop(); err != nil {
			t.Logf("stop Ceph: %v", err)
		}
	}
}

// Name implements Backend.
func (c *CephRGW) Name() string { return string(KindCephRGW) }

// StorageDir implements Backend: none, memstore keeps the objects in the
// OSD's memory.
func (c *CephRGW) StorageDir() string { return "" }

// Version implements Backend: what radosgw --version says.
func (c *CephRGW) Version() string {
	out, err := exec.Command("radosgw", "--version").Output()
	if err != nil {
		return "unknown: " + err.Error()
	}
	v := strings.TrimSpace(string(out))
	if i := strings.Index(v, " ("); i > 0 {
		if j := strings.Index(v, ") "); j > i {
			v = v[:i] + v[j+1:] // without the commit hash
		}
	}
	return v + " (Debian " + debianPackageVersion("radosgw") + ")"
}

// debianPackageVersion is the installed version of a Debian package.
func debianPackageVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// Features implements Backend.
func (c *CephRGW) Features() BackendFeatures {
	return BackendFeatures{Versioning: true, Storage: StorageMemory}
}

// Stop implements Backend: radosgw, the OSD and the monitor, in that order.
func (c *CephRGW) Stop(t testing.TB) {
	t.Helper()
	c.stopAll(t)
}

// uuidV4 returns a random UUID in its text form.
func uuidV4(t testing.TB) string {
	h := randomHex(t, 16)
	b := []byte(h)
	b[12] = '4'
	b[16] = "89ab"[int(b[16])%4]
	return fmt.Sprintf("%s-%s-%s-%s-%s", b[0:8], b[8:12], b[12:16], b[16:20], b[20:32])
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fileTail returns the last n lines of the file at path, or why not.
func fileTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
