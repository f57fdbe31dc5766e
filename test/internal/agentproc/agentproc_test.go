package agentproc

import "testing"

func TestParseAndSelect(t *testing.T) {
	text := `# HELP bond_cni_slaves_up x
# TYPE bond_cni_slaves_up gauge
bond_cni_slaves_up{bond="bond0",namespace="demo",pod="a"} 2
bond_cni_slaves_up{bond="bond0",namespace="demo",pod="b"} 1
# TYPE bond_cni_failovers_total counter
bond_cni_failovers_total{bond="bond0",namespace="demo",pod="b"} 3
`
	s, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Value("bond_cni_slaves_up", map[string]string{"pod": "b"}); !ok || v != 1 {
		t.Errorf("slaves_up{pod=b} = %v, %v", v, ok)
	}
	if v, ok := s.Value("bond_cni_failovers_total", map[string]string{"pod": "b"}); !ok || v != 3 {
		t.Errorf("failovers_total{pod=b} = %v, %v", v, ok)
	}
	if _, ok := s.Value("bond_cni_slaves_up", map[string]string{"namespace": "demo"}); ok {
		t.Error("Value of two matching samples reported one")
	}
	if got := len(s.Where(map[string]string{"pod": "b"})); got != 2 {
		t.Errorf("Where(pod=b) has %d samples, want 2", got)
	}
	if _, err := Parse("not {metrics"); err == nil {
		t.Error("Parse accepted garbage")
	}
}
