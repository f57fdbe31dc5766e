//go:build kernel

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
)

const podsAtOnce = 50

// TestManyPodsAtOnce: 50 pods, two veth links each, one host-local subnet,
// ADDed in parallel, then CHECKed, then DELed in parallel: no failure, no
// address given twice, and nothing left on the node.
func TestManyPodsAtOnce(t *testing.T) {
	r := newRuntime(t)
	network := "many-pods"
	list := confList(t, bondConf(network, "active-backup", []string{"net1", "net2"}, hostLocal("10.101.0.0/24")))
	s := newSwitch(t)
	pods := make([]*pod, podsAtOnce)
	podsBefore := make([]map[string]linkFacts, podsAtOnce)
	for i := range pods {
		pods[i] = newPod(t)
		s.plug(t, pods[i].ns, "net1")
		s.plug(t, pods[i].ns, "net2")
		podsBefore[i] = snapshot(t, pods[i].ns)
	}
	before := captureNode(t, nil, network)
	mem := watchMemory()

	results := make([]*current.Result, podsAtOnce)
	took := parallel(t, "ADD", func(i int) error {
		res, err := r.cni.AddNetworkList(ctx(), list, pods[i].rt("bond0"))
		if err != nil {
			return err
		}
		results[i], err = current.NewResultFromResult(res)
		return err
	})
	t.Logf("%d ADDs at once: %v", podsAtOnce, took)
	if t.Failed() {
		t.FailNow()
	}
	seen := map[string]int{}
	for i, res := range results {
		if len(res.IPs) != 1 {
			t.Fatalf("pod %d: result has %d IPs", i, len(res.IPs))
		}
		ip := res.IPs[0].Address.IP.String()
		if j, dup := seen[ip]; dup {
			t.Errorf("pods %d and %d both got %s", j, i, ip)
		}
		seen[ip] = i
		assertAddress(t, pods[i], "bond0", res.IPs[0].Address.String())
		b := bondIn(t, pods[i], "bond0")
		links := snapshot(t, pods[i].ns)
		if links["net1"].Master != b.Index || links["net2"].Master != b.Index {
			t.Errorf("pod %d: links not enslaved: %+v", i, links)
		}
	}
	if n := len(hostLocalLeases(t, network)); n != podsAtOnce {
		t.Errorf("host-local holds %d leases, want %d", n, podsAtOnce)
	}
	took = parallel(t, "CHECK", func(i int) error { return r.check(list, pods[i].rt("bond0")) })
	t.Logf("%d CHECKs at once: %v", podsAtOnce, took)
	took = parallel(t, "DEL", func(i int) error { return r.del(list, pods[i].rt("bond0")) })
	t.Logf("%d DELs at once: %v", podsAtOnce, took)
	low, total := mem()
	t.Logf("VM memory: %d MiB total, lowest available during the run %d MiB", total>>20, low>>20)

	for i := range pods {
		assertSameLinks(t, fmt.Sprintf("pod %d after DEL", i), podsBefore[i], snapshot(t, pods[i].ns))
	}
	assertNodeUnchanged(t, "node after every DEL", before, captureNode(t, nil, network))
	t.Logf("pods at once: %d, %d distinct addresses, nothing left", podsAtOnce, len(seen))
}

// parallel runs f for every pod at once and reports each failure.
func parallel(t *testing.T, what string, f func(i int) error) time.Duration {
	t.Helper()
	start := time.Now()
	errs := make([]error, podsAtOnce)
	var wg sync.WaitGroup
	for i := range podsAtOnce {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			t.Errorf("%s of pod %d: %v", what, i, err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d %ss failed", failed, podsAtOnce, what)
	}
	return time.Since(start)
}

// watchMemory samples MemAvailable until the returned function is called,
// which reports the lowest seen and MemTotal, in bytes.
func watchMemory() func() (low, total int64) {
	var lowest atomic.Int64
	total, avail := meminfo()
	lowest.Store(avail)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, a := meminfo(); a > 0 && a < lowest.Load() {
				lowest.Store(a)
			}
		}
	}()
	return func() (int64, int64) {
		close(done)
		<-stopped
		return lowest.Load(), total
	}
}

func meminfo() (total, available int64) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "MemTotal:":
			total = kb << 10
		case "MemAvailable:":
			available = kb << 10
		}
	}
	return total, available
}
