//go:build unix

package apply

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process of this host runs with that id
// (signal 0 checks without sending anything).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
