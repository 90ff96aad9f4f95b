//go:build !linux

package harness

import "os/exec"

// setParentDeathSignal does nothing where there is no parent-death signal;
// servers of a test binary that dies keep running there.
func setParentDeathSignal(*exec.Cmd) {}

// killProcess sends SIGKILL to the process.
func killProcess(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
