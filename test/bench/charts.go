package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bond-cni/bond-cni/test/internal/chart"
	"github.com/bond-cni/bond-cni/test/vmctl"
)

// renderedChart is one chart's file name and PNG bytes.
type renderedChart struct {
	name string
	png  []byte
}

// failoverCharts draws each failover row (links, miimon) as one PNG with
// a panel per trial: failover-vf-miimon100.png and so on.
func failoverCharts(r *Report) ([]renderedChart, error) {
	var out []renderedChart
	for _, row := range r.Failover {
		if len(row.Trials) == 0 {
			continue
		}
		var trials []chart.Trial
		for i, t := range row.Trials {
			c := t.Chart
			c.Label = fmt.Sprintf("trial %d", i+1)
			trials = append(trials, c)
		}
		title := fmt.Sprintf("%s slaves, active-backup, miimon %d: echo time of each probe (sent every %.0f ms)",
			row.Links, row.MiimonMs, row.ProbeIntervalMs)
		png, err := chart.Render("png", title, trials)
		if err != nil {
			return out, err
		}
		out = append(out, renderedChart{fmt.Sprintf("failover-%s-miimon%d.png", strings.ToLower(row.Links), row.MiimonMs), png})
	}
	return out, nil
}

// keepCharts hands the run's charts to the host runner in the VM (go run
// ./test/vm exec -out DIR) or writes them into -charts-dir natively.
func (b *bench) keepCharts() error {
	charts, err := failoverCharts(b.report)
	for _, c := range charts {
		where, kerr := vmctl.KeepFile(b.opts.chartsDir, c.name, c.png)
		if kerr != nil {
			return kerr
		}
		if where != "" {
			b.logf("chart %s", where)
		}
	}
	return err
}

// chartsFrom reads a bench log (the JSON between its marker lines) or a
// JSON report file, and writes its charts: the VM has no shared disk, so
// make bench draws them on the host from the console log.
func chartsFrom(path, dir string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")) // the serial console's line ends
	if i := bytes.Index(data, []byte(jsonBegin+"\n")); i >= 0 {
		data = data[i+len(jsonBegin)+1:]
		j := bytes.Index(data, []byte("\n"+jsonEnd))
		if j < 0 {
			return nil, fmt.Errorf("%s: %s without %s", path, jsonBegin, jsonEnd)
		}
		data = data[:j]
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	charts, err := failoverCharts(&r)
	if err != nil {
		return nil, err
	}
	if len(charts) == 0 {
		return nil, errors.New(path + ": no failover trials")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, c := range charts {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.png, 0o644); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	return files, nil
}
