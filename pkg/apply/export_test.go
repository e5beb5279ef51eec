package apply

import "time"

// SetLockClock replaces the lock's clock and its refresh ticker, and
// reports each refresh on beaten, for the duration of a test.
func SetLockClock(now func() time.Time, ticks <-chan time.Time, beaten func(error)) (restore func()) {
	wasNow, wasTicks, wasBeaten := lockNow, lockTicks, lockBeaten
	lockNow = now
	lockTicks = func() (<-chan time.Time, func()) { return ticks, func() {} }
	lockBeaten = beaten
	return func() { lockNow, lockTicks, lockBeaten = wasNow, wasTicks, wasBeaten }
}
