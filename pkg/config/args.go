package config

import "strings"

// parseCNIArgs reads the CNI_ARGS pairs ("K=V;K=V"), the last of a key
// winning. The reference plugin never parses CNI_ARGS, so nothing in it may
// fail a config here that works there: keys we do not read are ignored
// whether or not IgnoreUnknown is given, and so is a pair that is not
// K=V. Keys are case-sensitive, as the CNI library reads them.
func parseCNIArgs(s string) map[string]string {
	args := map[string]string{}
	for _, pair := range strings.Split(s, ";") {
		kv := strings.Split(pair, "=")
		if len(kv) != 2 || kv[0] == "" {
			continue
		}
		args[kv[0]] = kv[1]
	}
	return args
}

// readCNIArgs takes from CNI_ARGS the pod that Multus names there, and
// resolves the bond MAC (see resolveMAC).
func readCNIArgs(c *Conf, w *wireConf, rawArgs string) error {
	args := parseCNIArgs(rawArgs)
	c.Pod = PodRef{Namespace: args["K8S_POD_NAMESPACE"], Name: args["K8S_POD_NAME"], UID: args["K8S_POD_UID"]}
	return resolveMAC(c, w, args["MAC"])
}

// resolveMAC picks the bond MAC with the reference tuning plugin's
// precedence, lowest first: config "mac" < CNI_ARGS MAC <
// runtimeConfig "mac" < "args.cni.mac". A MAC that is not a unicast one
// is an error wherever it comes from.
func resolveMAC(c *Conf, w *wireConf, argsMAC string) error {
	candidates := []struct{ from, mac string }{
		{"mac", w.MAC},
		{"CNI_ARGS MAC", argsMAC},
		{"runtimeConfig.mac", w.RuntimeConfig.MAC},
		{"args.cni.mac", w.Args.CNI.MAC},
	}
	for _, cand := range candidates {
		if cand.mac == "" {
			continue
		}
		mac, err := parseUnicastMAC(cand.mac)
		if err != nil {
			return invalid("%s: %v", cand.from, err)
		}
		c.MAC, c.macFrom = mac, cand.from
	}
	return nil
}
