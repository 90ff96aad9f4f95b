package harness

import (
	"strings"
	"testing"
)

// Kill ends the gateway with SIGKILL, as a crash or an OOM kill would, and
// waits for it to exit. The cleanup registered by StartGateway then does
// nothing: a killed gateway cannot exit 0.
func (g *Gateway) Kill(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	g.signaled, g.stopped = true, true
	g.mu.Unlock()
	g.proc.Kill()
}

// Restart starts a new gateway process configured as g was — same backend
// URL, key store, credentials and settings — on a new port, as an operator
// restarting a crashed gateway would. opts apply on top.
func (g *Gateway) Restart(t testing.TB, opts ...GatewayOption) *Gateway {
	t.Helper()
	var same []GatewayOption
	for _, kv := range g.env {
		name, value, _ := strings.Cut(kv, "=")
		if name == "S3SEAL_ADDRESS" || name == "HOME" {
			continue
		}
		same = append(same, WithGatewayEnv(name, value))
	}
	g2 := StartGateway(t, g.Backend, append(same, opts...)...)
	g2.AccessKey, g2.SecretKey, g2.KMSDir = g.AccessKey, g.SecretKey, g.KMSDir
	return g2
}
