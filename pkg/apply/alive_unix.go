//go:build unix

package apply

import (
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

// pidNamespace names this process's pid namespace ("pid:[4026531836]" on
// Linux); "" where the system does not say.
func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return ns
}
