package konnect

import (
	"strings"
	"testing"
)

// A token pasted into the address flag must not come back in the error
// that rejects the address.
func TestBaseURLErrorsHideCredentials(t *testing.T) {
	const token = "kpat_test_fake_canary_4242"
	for _, addr := range []string{
		"https://" + token + "@us.api.konghq.com",
		"https://user:" + token + "@us.api.konghq.com",
		"https://us.api.konghq.com/?token=" + token,
		"https://us.api.konghq.com/#" + token,
		"ftp://" + token + "@us.api.konghq.com",
		"https://" + token + "@",
		"http://[::1" + token,
		token,
	} {
		_, err := New(Options{BaseURL: addr, Token: "kpat_test_fake_0000"})
		if err == nil {
			t.Errorf("address %d: accepted, want an error", len(addr))
			continue
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("the error for a bad address shows the credential it carried")
		}
	}
}
