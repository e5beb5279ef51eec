package konnect

import (
	"fmt"
	"slices"
	"strings"
)

// Regions are Konnect's geographic API regions; each has its own address
// (https://REGION.api.konghq.com) and its own organisation data.
var Regions = []string{"us", "eu", "au", "me", "in", "sg"}

// RegionBaseURL is the API address of a Konnect region.
func RegionBaseURL(region string) (string, error) {
	r := strings.ToLower(strings.TrimSpace(region))
	if !slices.Contains(Regions, r) {
		return "", fmt.Errorf("unknown Konnect region %q (want one of %s)", region, strings.Join(Regions, ", "))
	}
	return "https://" + r + ".api.konghq.com", nil
}
