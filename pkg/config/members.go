package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// member is one top-level key of the config with its raw value.
type member struct {
	key string
	raw json.RawMessage
}

// objectMembers returns the top-level members of a JSON object in document
// order; JSON null gives none. Order matters: encoding/json, with which the
// reference plugin reads its config, lets the last of several keys that
// match one field win, so we must know which came last.
func objectMembers(stdin []byte) ([]member, error) {
	if !json.Valid(stdin) {
		var v any
		return nil, json.Unmarshal(stdin, &v) // the decoder's own description
	}
	dec := json.NewDecoder(bytes.NewReader(stdin))
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("want a JSON object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v is not a string", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, member{key: key, raw: raw})
	}
	return out, nil
}

// givenOption is an option's value as the config gives it, under the key
// it was spelt with.
type givenOption struct {
	key  Key
	name string
	raw  json.RawMessage
}

// givenOptions picks each option's value from the config's members the way
// encoding/json fills a field: a key matches ignoring case, the alias
// counts as the option, null leaves it unset, and the last member wins. An
// option given more than once gets a warning, since only one value counts.
func givenOptions(members []member) ([]givenOption, []string) {
	var byKey [numKeys][]member
	for _, m := range members {
		if k, ok := optionKeyFold(m.key); ok && !isAbsent(m.raw) {
			byKey[k] = append(byKey[k], m)
		}
	}
	var out []givenOption
	var warnings []string
	for k, ms := range byKey {
		if len(ms) == 0 {
			continue
		}
		last := ms[len(ms)-1]
		if len(ms) > 1 {
			warnings = append(warnings, duplicateWarning(Key(k), ms))
		}
		out = append(out, givenOption{key: Key(k), name: last.key, raw: last.raw})
	}
	return out, warnings
}

func duplicateWarning(k Key, ms []member) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = quote(m.key)
	}
	return fmt.Sprintf("%s is given %d times (%s); the last, %s, is used, as encoding/json and so the reference plugin use it",
		k, len(ms), clipText(strings.Join(names, ", ")), quote(ms[len(ms)-1].key))
}

// optionKeyFold returns the option whose key or alias equals name ignoring
// case, as encoding/json matches keys.
func optionKeyFold(name string) (Key, bool) {
	for k, s := range optionSpecs {
		if strings.EqualFold(name, s.key) || (s.alias != "" && strings.EqualFold(name, s.alias)) {
			return Key(k), true
		}
	}
	return noKey, false
}
