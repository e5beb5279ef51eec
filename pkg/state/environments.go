package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvironmentsFileName is the environments file's conventional name.
const EnvironmentsFileName = "kvsync.environments.yaml"

// Environments describe several control planes (dev, staging, prod) that
// the same state files configure, each with its own values: one run plans
// or syncs them all, or a chosen subset.
type Environments struct {
	// Path is the environments file; relative paths in it are relative to
	// its directory.
	Path string
	// List is in the file's order.
	List []*Environment
}

// Environment is one control plane and what differs for it.
type Environment struct {
	Name string
	// ControlPlane is the control plane's name or id.
	ControlPlane string
	// Region or Address locate the Konnect API (both empty: the run's
	// --konnect-region or --konnect-addr); at most one is set.
	Region, Address string
	// Files are the state files, the shared ones first, resolved against
	// the environments file's directory.
	Files []string
	// Values are the environment's values for ${{ env "NAME" }}: written
	// in the file, so not secrets (they print in plans).
	Values map[string]string
	// Variables map a name used in the state files to the variable that
	// holds this environment's value (a secret: MISTRAL_API_KEY ->
	// PROD_MISTRAL_API_KEY).
	Variables map[string]string
	// Sum is the environment's kvsync.sum: each environment has its own
	// file, so that concurrent jobs never write the same one.
	Sum string
	// Pos is where the environment is declared.
	Pos Position
}

// LookupEnv resolves a variable for this environment: its value, else
// the variable it maps to, else the variable itself (shared by every
// environment).
func (e *Environment) LookupEnv(lookup func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := e.Values[name]; ok {
			return v, true
		}
		if to, ok := e.Variables[name]; ok {
			return lookup(to)
		}
		return lookup(name)
	}
}

// PublicEnv reports whether a variable is one of the environment's values.
func (e *Environment) PublicEnv(name string) bool {
	_, ok := e.Values[name]
	return ok
}

// Select returns the named environments, in the file's order; no names
// selects every one. An unknown name is an error listing the known ones.
func (es *Environments) Select(names []string) ([]*Environment, error) {
	if len(names) == 0 {
		return es.List, nil
	}
	var known []string
	for _, e := range es.List {
		known = append(known, e.Name)
	}
	var unknown []string
	for _, n := range names {
		if !slices.Contains(known, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%s: no environment %s (it has %s)", es.Path, strings.Join(quoteAll(unknown), ", "), strings.Join(known, ", "))
	}
	var out []*Environment
	for _, e := range es.List {
		if slices.Contains(names, e.Name) {
			out = append(out, e)
		}
	}
	return out, nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

var (
	envNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// LoadEnvironments reads an environments file:
//
//	files: [base]                  # shared state files (optional)
//	region: eu                     # or address: https://…, for every environment (optional)
//	environments:
//	  - name: prod
//	    control_plane: prod-cp     # name or id
//	    region: us                 # or address (optional)
//	    files: [envs/prod.yaml]    # added to the shared ones (optional)
//	    values: {MODEL: mistral-large}
//	    variables: {MISTRAL_API_KEY: PROD_MISTRAL_API_KEY}
//	    sum: kvsync.prod.sum       # default kvsync.NAME.sum beside this file
//
// Every problem is reported at once, located.
func LoadEnvironments(path string) (*Environments, error) {
	c := newCollector()
	c.addFile(path)
	data, err := readFileBounded(path, DefaultMaxFileSize)
	if err != nil {
		c.add(Position{File: path}, "", "cannot read: %v", unwrapPath(err))
		return nil, c.err()
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(data), &doc); err != nil {
		c.add(Position{File: path}, "", "not YAML: %v", err)
		return nil, c.err()
	}
	es := &Environments{Path: path}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		c.add(Position{File: path}, "", "want a mapping with environments:")
		return nil, c.err()
	}
	dir := filepath.Dir(path)
	at := func(n *yaml.Node) Position { return Position{File: path, Line: n.Line, Column: n.Column} }
	var shared []string
	var sharedRegion, sharedAddress string
	var envNodes *yaml.Node
	eachKey(doc.Content[0], func(k, v *yaml.Node) {
		switch k.Value {
		case "files":
			shared = stringList(c, at, v, "files", dir)
		case "region":
			sharedRegion = scalar(c, at, v, "region")
		case "address":
			sharedAddress = scalar(c, at, v, "address")
		case "environments":
			envNodes = v
		default:
			c.add(at(k), k.Value, "unknown field (want files, region, address, environments)")
		}
	})
	if sharedRegion != "" && sharedAddress != "" {
		c.add(at(doc.Content[0]), "", "region and address both given: give one")
	}
	if envNodes == nil || envNodes.Kind != yaml.SequenceNode || len(envNodes.Content) == 0 {
		c.add(at(doc.Content[0]), "environments", "want a list of environments, each with a name and a control_plane")
		return nil, c.err()
	}
	seen := map[string]Position{}
	sums := map[string]string{}
	targets := map[string]string{}
	for i, n := range envNodes.Content {
		field := fmt.Sprintf("environments[%d]", i)
		if n.Kind != yaml.MappingNode {
			c.add(at(n), field, "want a mapping with a name and a control_plane")
			continue
		}
		e := &Environment{Pos: at(n), Region: sharedRegion, Address: sharedAddress}
		var own []string
		eachKey(n, func(k, v *yaml.Node) {
			f := field + "." + k.Value
			switch k.Value {
			case "name":
				e.Name = scalar(c, at, v, f)
			case "control_plane":
				e.ControlPlane = scalar(c, at, v, f)
			case "region":
				e.Region, e.Address = scalar(c, at, v, f), ""
			case "address":
				e.Address, e.Region = scalar(c, at, v, f), ""
			case "files":
				own = stringList(c, at, v, f, dir)
			case "values":
				e.Values = stringMap(c, at, v, f, false)
			case "variables":
				e.Variables = stringMap(c, at, v, f, true)
			case "sum":
				if s := scalar(c, at, v, f); s != "" {
					e.Sum = filepath.Join(dir, s)
				}
			default:
				c.add(at(k), f, "unknown field (want name, control_plane, region, address, files, values, variables, sum)")
			}
			if k.Value == "address" && hasKey(n, "region") {
				c.add(at(k), f, "region and address both given: give one")
			}
		})
		switch {
		case e.Name == "":
			c.add(e.Pos, field+".name", "required")
		case !envNameRE.MatchString(e.Name):
			c.add(e.Pos, field+".name", "%q: want lower-case letters, digits, - and _ (it names the environment's kvsync.sum)", e.Name)
		default:
			if prev, dup := seen[e.Name]; dup {
				c.add(e.Pos, field+".name", "environment %q is already declared at %s", e.Name, prev)
			}
			seen[e.Name] = e.Pos
		}
		if e.ControlPlane == "" {
			c.add(e.Pos, field+".control_plane", "required: the control plane's name or id")
		} else {
			target := e.Address + "|" + e.Region + "|" + e.ControlPlane
			if other, dup := targets[target]; dup {
				c.add(e.Pos, field+".control_plane", "%q is also environment %s's control plane: each environment has its own (a lock and a kvsync.sum each)", e.ControlPlane, other)
			}
			targets[target] = e.Name
		}
		for name := range e.Values {
			if _, both := e.Variables[name]; both {
				c.add(e.Pos, field, "%s is in both values and variables: give one", name)
			}
		}
		e.Files = append(slices.Clone(shared), own...)
		if len(e.Files) == 0 {
			c.add(e.Pos, field+".files", "no state files: list them under files (shared) or the environment's files")
		}
		if e.Sum == "" && e.Name != "" {
			e.Sum = filepath.Join(dir, "kvsync."+e.Name+".sum")
		}
		if other, dup := sums[e.Sum]; dup && e.Sum != "" {
			c.add(e.Pos, field+".sum", "%s is also environment %s's kvsync.sum: each environment has its own", e.Sum, other)
		}
		sums[e.Sum] = e.Name
		es.List = append(es.List, e)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return es, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

func eachKey(m *yaml.Node, fn func(k, v *yaml.Node)) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		fn(m.Content[i], m.Content[i+1])
	}
}

func scalar(c *collector, at func(*yaml.Node) Position, v *yaml.Node, field string) string {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		c.add(at(v), field, "want a string")
		return ""
	}
	return strings.TrimSpace(v.Value)
}

func stringList(c *collector, at func(*yaml.Node) Position, v *yaml.Node, field, dir string) []string {
	if v.Kind != yaml.SequenceNode {
		c.add(at(v), field, "want a list of paths")
		return nil
	}
	var out []string
	for i, n := range v.Content {
		if s := scalar(c, at, n, fmt.Sprintf("%s[%d]", field, i)); s != "" {
			if !filepath.IsAbs(s) {
				s = filepath.Join(dir, s)
			}
			out = append(out, s)
		}
	}
	return out
}

func stringMap(c *collector, at func(*yaml.Node) Position, v *yaml.Node, field string, valuesAreNames bool) map[string]string {
	if v.Kind != yaml.MappingNode {
		c.add(at(v), field, "want a mapping of variable names")
		return nil
	}
	out := map[string]string{}
	eachKey(v, func(k, val *yaml.Node) {
		f := field + "." + k.Value
		if !varNameRE.MatchString(k.Value) {
			c.add(at(k), f, "want a variable name")
		}
		s := scalar(c, at, val, f)
		if valuesAreNames && !varNameRE.MatchString(s) {
			c.add(at(val), f, "want the name of the variable that holds this environment's value")
		}
		out[k.Value] = s
	})
	return out
}
