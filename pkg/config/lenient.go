package config

import (
	"encoding/json"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// LoadLenient reads what DEL, GC and STATUS need (network, IPAM, links,
// where the links came from, logging, the GC's valid attachments) and
// nothing else. It takes every JSON object: a key of the wrong type or
// value is left at its zero value, a link entry that is not an object with
// a valid name is skipped. A runtime sends DEL with the config ADD refused,
// and that DEL must still succeed so the pod can go.
func LoadLenient(stdin []byte) (*Conf, error) {
	members, err := objectMembers(stdin)
	if err != nil {
		return nil, invalid("invalid JSON config: %s", clipText(err.Error()))
	}
	c := &Conf{}
	decodeMembers(members, "cniVersion", &c.CNIVersion)
	decodeMembers(members, "name", &c.Name)
	decodeMembers(members, "type", &c.Type)
	decodeMembers(members, "ipam", &c.IPAM)
	decodeMembers(members, "ifname", &c.IfNameKey)
	decodeMembers(members, "logFile", &c.LogFile)
	decodeMembers(members, "logLevel", &c.LogLevel)
	if c.IPAM.Type == "bond" {
		// ADD refused it, so there is no lease; delegating to ourselves
		// would start one more plugin per level, without end.
		c.IPAM.Type = ""
	}
	c.LogLevel, _ = logLevel(c.LogLevel)
	var mode, inContainer json.RawMessage
	decodeMembers(members, "mode", &mode)
	if v, err := parseEnum(mode, modeNames, false); err == nil {
		c.Mode = Mode(v)
	}
	decodeMembers(members, "linksInContainer", &inContainer)
	c.LinksInContainer, _ = parseBool(inContainer)
	var links, attachments []json.RawMessage
	decodeMembers(members, "links", &links)
	c.Links = lenientLinks(links)
	decodeMembers(members, "cni.dev/valid-attachments", &attachments)
	c.ValidAttachments = lenientAttachments(attachments)
	return c, nil
}

// decodeMembers decodes into dst, in document order, each member whose key
// matches name as encoding/json matches a field's (ignoring case), with
// encoding/json's rules for dst's type: so it yields what Load's decoding
// yields whenever that succeeds. A member that does not decode is skipped.
func decodeMembers[T any](members []member, name string, dst *T) {
	for _, m := range members {
		if !strings.EqualFold(m.key, name) {
			continue
		}
		v := *dst
		if json.Unmarshal(m.raw, &v) == nil {
			*dst = v
		}
	}
}

// lenientLinks returns the valid link names of "links", each once.
func lenientLinks(entries []json.RawMessage) []string {
	var links []string
	seen := map[string]bool{}
	for _, e := range entries {
		var l wireLink
		if json.Unmarshal(e, &l) != nil || checkIfName(l.Name) != nil || seen[l.Name] {
			continue
		}
		seen[l.Name] = true
		links = append(links, l.Name)
	}
	return links
}

// lenientAttachments returns the GC's valid attachments that decode.
// Skipping one that does not can only let GC consider dropping that
// attachment's record, which GC does only once its netns is gone.
func lenientAttachments(entries []json.RawMessage) []types.GCAttachment {
	var out []types.GCAttachment
	for _, e := range entries {
		var a types.GCAttachment
		if json.Unmarshal(e, &a) == nil {
			out = append(out, a)
		}
	}
	return out
}
