//go:build unix

package apply

import (
	"bytes"
	"errors"
	"os"
	"syscall"
)

// processAlive reports whether a process of this host runs with that id
// (signal 0 checks without sending anything).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// pidNamespace names this process's pid namespace and the boot of the
// machine it runs on ("pid:[4026531836] boot 1c2d…" on Linux): the root
// namespace has the same number on every Linux machine, so only both
// together tell that a holder's pid is one of ours. "" where the system
// does not say.
func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil || len(bytes.TrimSpace(boot)) == 0 {
		return ""
	}
	return ns + " boot " + string(bytes.TrimSpace(boot))
}
