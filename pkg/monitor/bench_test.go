package monitor

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// BenchmarkScrape50Bonds is one /metrics scrape of 50 active-backup
// bonds, from the held readings to the text the handler writes: the
// agent's cost per scrape, apart from netlink.
func BenchmarkScrape50Bonds(b *testing.B) {
	var readings []reading
	for i := range 50 {
		st := BondState{Mode: "active-backup", Active: "net1", Slaves: []Slave{
			{Name: "net1", AdminUp: true, MIIUp: true, Carrier: true}, {Name: "net2", AdminUp: true, MIIUp: true, Carrier: true}}}
		readings = append(readings, reading{Attachment: pod(fmt.Sprintf("pod-%d", i), "bond0"), State: st, Found: true})
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(watching(readings...))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		_, _ = io.Copy(io.Discard, rec.Body)
	}
}
