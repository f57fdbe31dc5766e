package main

import (
	"fmt"
	"strings"

	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// printer narrates in plain words and keeps the verdicts.
type printer struct {
	part, section int
	passed        int
	failed        []string
}

// Part starts one of the demo's runs.
func (p *printer) Part(title string) {
	p.part++
	p.section = 0
	fmt.Printf("\n######## %d. %s\n", p.part, title)
}

// Section starts a step of the current run.
func (p *printer) Section(title string) {
	p.section++
	fmt.Printf("\n== %d.%d %s\n", p.part, p.section, title)
}

// Printf prints one message, every line indented under the section.
func (p *printer) Printf(format string, args ...any) {
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	fmt.Println("  " + strings.ReplaceAll(msg, "\n", "\n  "))
}

func (p *printer) Check(what string, err error) bool {
	if err != nil {
		p.failed = append(p.failed, fmt.Sprintf("%d. %s: %v", p.part, what, err))
		fmt.Printf("  [FAIL] %s: %v\n", what, err)
		return false
	}
	p.passed++
	fmt.Printf("  [ok] %s\n", what)
	return true
}

// silent drops the section titles of a nested run.
type silent struct{ *printer }

func (silent) Section(string) {}

// figures are the numbers the summary repeats.
type figures struct {
	vf, veth *bed.FailoverResult
	bond     *bed.BondState
}

func (p *printer) finish(f *figures) int {
	fmt.Printf("\n######## Summary\n")
	if f != nil {
		summarize("over VFs  ", f.vf)
		summarize("over veth ", f.veth)
	}
	fmt.Printf("  checks: %d passed, %d failed\n", p.passed, len(p.failed))
	if len(p.failed) > 0 {
		fmt.Printf("  failed:\n    %s\n", strings.Join(p.failed, "\n    "))
		fmt.Println("RESULT: FAIL")
		return 1
	}
	fmt.Println("RESULT: PASS")
	return 0
}

func summarize(label string, r *bed.FailoverResult) {
	if r == nil || r.Outage == nil {
		return
	}
	line := fmt.Sprintf("  failover %s: longest gap %s, %d probes lost", label, bed.Ms(r.Gap.Duration()), r.Outage.Lost())
	if r.CarrierLostSeen {
		line += fmt.Sprintf("; carrier dropped %s after the cut", bed.Ms(r.CarrierLost.At.Sub(r.CutAt)))
		if at, ok := r.Decided(); ok {
			line += fmt.Sprintf(", bond chose the new slave %s later", bed.Ms(at.Sub(r.CarrierLost.At)))
		}
		if r.SwitchSeen {
			line += fmt.Sprintf(", notified it %s later", bed.Ms(r.Switch.At.Sub(r.CarrierLost.At)))
		}
		if !r.Resumed.IsZero() {
			line += fmt.Sprintf(", traffic back %s later", bed.Ms(r.Resumed.Sub(r.CarrierLost.At)))
		}
	}
	fmt.Println(line)
}
