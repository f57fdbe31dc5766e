package monitor

import (
	"slices"
	"strings"
)

// logEvent writes one structured line per transition, for whoever reads
// the node's logs rather than its metrics.
func (w *watcher) logEvent(e Event, failovers uint64) {
	attrs := []any{"namespace", w.att.Namespace, "pod", w.att.Pod, "bond", w.att.Bond, "mode", e.State.Mode}
	switch e.Kind {
	case Failover:
		attrs = append(attrs, "from", e.From, "to", e.To, "failovers", failovers)
		w.log.Info(string(e.Kind), attrs...)
	case RedundancyLost:
		attrs = append(attrs, "slaves_up", e.State.SlavesUp(), "slaves_configured", len(w.att.Links),
			"slaves_down", strings.Join(slavesDown(w.att.Links, e.State), ","))
		w.log.Warn(string(e.Kind), attrs...)
	case RedundancyRestored:
		attrs = append(attrs, "slaves_up", e.State.SlavesUp(), "slaves_configured", len(w.att.Links))
		w.log.Info(string(e.Kind), attrs...)
	}
}

// slavesDown names the configured slaves that are not up in the bond:
// down, or no longer enslaved at all.
func slavesDown(configured []string, st BondState) []string {
	up := map[string]bool{}
	for _, s := range st.Slaves {
		up[s.Name] = s.MIIUp
	}
	var down []string
	for _, name := range configured {
		if !up[name] {
			down = append(down, name)
		}
	}
	for _, s := range st.Slaves {
		if !s.MIIUp && !slices.Contains(configured, s.Name) {
			down = append(down, s.Name)
		}
	}
	return down
}
