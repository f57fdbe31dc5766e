package config

import (
	"github.com/containernetworking/cni/pkg/types"
)

// cniArgs are the CNI_ARGS keys we read. The K8S_* keys are named so that
// a runtime that omits IgnoreUnknown does not make every ADD fail.
type cniArgs struct {
	types.CommonArgs
	MAC                        types.UnmarshallableString
	K8S_POD_NAME               types.UnmarshallableString //nolint:revive // CNI_ARGS key
	K8S_POD_NAMESPACE          types.UnmarshallableString //nolint:revive // CNI_ARGS key
	K8S_POD_INFRA_CONTAINER_ID types.UnmarshallableString //nolint:revive // CNI_ARGS key
	K8S_POD_UID                types.UnmarshallableString //nolint:revive // CNI_ARGS key
}

// ParseArgs reads CNI_ARGS ("K=V;K=V"); unknown keys are an error unless
// IgnoreUnknown is set, as the CNI library defines.
func ParseArgs(s string) (map[string]string, error) {
	var a cniArgs
	if err := types.LoadArgs(s, &a); err != nil {
		return nil, invalid("CNI_ARGS: %v", err)
	}
	return map[string]string{"MAC": string(a.MAC), "K8S_POD_NAMESPACE": string(a.K8S_POD_NAMESPACE),
		"K8S_POD_NAME": string(a.K8S_POD_NAME), "K8S_POD_UID": string(a.K8S_POD_UID)}, nil
}

// resolveMAC picks the bond MAC with the tuning plugin's precedence:
// config "mac" < "args.cni.mac" < CNI_ARGS MAC < runtimeConfig "mac".
func resolveMAC(c *Conf, w *wireConf, rawArgs string) error {
	args, err := ParseArgs(rawArgs)
	if err != nil {
		return err
	}
	c.Pod = PodRef{Namespace: args["K8S_POD_NAMESPACE"], Name: args["K8S_POD_NAME"], UID: args["K8S_POD_UID"]}
	candidates := []struct{ from, mac string }{
		{"mac", w.MAC},
		{"args.cni.mac", w.Args.CNI.MAC},
		{"CNI_ARGS MAC", args["MAC"]},
		{"runtimeConfig.mac", w.RuntimeConfig.MAC},
	}
	for _, cand := range candidates {
		if cand.mac == "" {
			continue
		}
		mac, err := parseUnicastMAC(cand.mac)
		if err != nil {
			return invalid("%s: %v", cand.from, err)
		}
		c.MAC = mac
	}
	return nil
}
