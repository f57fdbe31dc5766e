package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"
)

//go:embed init.sh
var initTemplate string

// nic is one emulated igb NIC: its QEMU netdev id and the MAC that lets the
// guest find it whatever name the kernel gives it.
type nic struct {
	ID  string
	MAC string
}

// The SR-IOV PFs and the peer ("switch side") NIC, all on one QEMU hub.
var (
	pfNICs  = []nic{{"pf0", "52:54:00:b0:0d:00"}, {"pf1", "52:54:00:b0:0d:01"}}
	peerNIC = nic{"peer", "52:54:00:b0:0d:fe"}
)

// guestStep is one program the guest runs, in order.
type guestStep struct {
	name  string
	path  string // in the guest
	args  []string
	dir   string // working directory in the guest
	label bool   // print run/done markers (test binaries)
}

type initModule struct {
	Path   string
	Params []string
}

// renderInit fills init.sh for one run.
func renderInit(k guestKernel, mods []kernelModule, vfs int, payload string) ([]byte, error) {
	data := struct {
		Modules   []initModule
		VFs       int
		PFs       []nic
		Peer      nic
		PFNetdevs string
		ExtraEnv  []string
		Payload   string
	}{VFs: vfs, PFs: pfNICs, Peer: peerNIC, Payload: payload}
	for _, m := range mods {
		data.Modules = append(data.Modules, initModule{Path: k.guestModulePath(m), Params: m.params})
	}
	for _, p := range pfNICs {
		data.PFNetdevs = strings.TrimSpace(data.PFNetdevs + " " + p.ID)
	}
	data.ExtraEnv = passThroughEnv()
	tmpl, err := template.New("init").Parse(initTemplate)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, data)
	return buf.Bytes(), err
}

// testbedEnv are the variables the test bed itself defines in the guest.
var testbedEnv = map[string]bool{
	"BOND_TEST_VM": true, "BOND_TEST_PFS": true, "BOND_TEST_PF_NETDEVS": true,
	"BOND_TEST_PEER": true, "BOND_TEST_CTL": true, "CNI_PATH": true,
}

// passThroughEnv forwards the host's other BOND_* variables (tuning knobs
// for scenarios and benchmarks) into the guest, shell-quoted.
func passThroughEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BOND_") && !testbedEnv[name] && isShellName(name) {
			out = append(out, name+"="+shellQuote(value))
		}
	}
	sort.Strings(out)
	return out
}

func isShellName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// payloadScript runs the steps in order; rc ends non-zero if any failed
// and, for a single program, carries its exit code.
func payloadScript(steps []guestStep) string {
	var b strings.Builder
	for _, s := range steps {
		cmd := shellQuote(s.path)
		for _, a := range s.args {
			cmd += " " + shellQuote(a)
		}
		if s.label {
			fmt.Fprintf(&b, "echo %s\n", shellQuote(markRun+s.name))
		}
		// mkdir: a package outside git's view has no copy under /src.
		fmt.Fprintf(&b, "mkdir -p %[1]s && cd %[1]s && %[2]s\nr=$?\ncd /\n", shellQuote(s.dir), cmd)
		if s.label {
			fmt.Fprintf(&b, "echo %s$r\n", shellQuote(markBinDone+s.name+" "))
		}
		if len(steps) == 1 {
			b.WriteString("rc=$r\n")
		} else {
			b.WriteString("[ $r = 0 ] || rc=1\n")
		}
	}
	return b.String()
}

// shellPayload gives an interactive shell on the console.
const shellPayload = `echo "testbed: shell; 'exit' powers the VM off"
cd /src && setsid cttyhack sh -l
rc=$?
`
