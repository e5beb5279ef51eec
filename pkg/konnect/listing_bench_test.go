package konnect

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkListAtItemBound lists DefaultMaxListItems plugins, each with a
// config the size of a rate-limiting plugin's with Kong's defaults, and
// reports the heap the listing's result holds (retained-MB): what the item
// bound lets one listing cost at most.
//
//	go test -run '^$' -bench ListAtItemBound -benchtime 1x ./pkg/konnect
func BenchmarkListAtItemBound(b *testing.B) {
	const pageSize = maxCorePageSize
	config := `{"minute":5,"hour":null,"day":null,"month":null,"year":null,"second":null,"policy":"redis","limit_by":"consumer","fault_tolerant":true,"hide_client_headers":false,"error_code":429,"error_message":"API rate limit exceeded","sync_rate":-1,"redis":{"host":"redis.internal","port":6379,"timeout":2000,"database":0,"username":null,"password":null,"ssl":false,"ssl_verify":false,"server_name":null,"sentinel_master":null,"sentinel_role":null,"sentinel_nodes":null,"cluster_nodes":null,"keepalive_pool_size":256,"keepalive_backlog":null,"connect_timeout":2000,"send_timeout":2000,"read_timeout":2000},"header_name":null,"path":null}`
	c, _ := newTestClient(b, func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		items := make([]string, 0, pageSize)
		for i := start; i < start+pageSize && i < DefaultMaxListItems; i++ {
			items = append(items, fmt.Sprintf(`{"id":"plugin-%d","name":"rate-limiting","enabled":true,"protocols":["http","https"],"tags":["kvsync"],"created_at":1700000000,"updated_at":1700000000,"route":{"id":"route-%d"},"config":%s}`, i, i, config))
		}
		next := "null"
		if start+pageSize < DefaultMaxListItems {
			next = strconv.Quote(strconv.Itoa(start + pageSize))
		}
		writeJSON(w, 200, `{"data":[`+strings.Join(items, ",")+`],"offset":`+next+`}`)
	})
	var retained uint64
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		plugins, err := c.Plugins.List(context.Background(), "cp", nil)
		if err != nil || len(plugins) != DefaultMaxListItems {
			b.Fatalf("%d plugins, %v", len(plugins), err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(plugins)
	}
	b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
}
