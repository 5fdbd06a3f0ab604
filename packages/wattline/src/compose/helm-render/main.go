// Test support for compose/helm-chart.test.ts: renders deploy/helm/wattline with Go's text/template
// (the engine `helm template` uses) and the Helm/Sprig functions the chart calls, implemented here
// to Helm's documented semantics. Used where no `helm` binary exists (it is not packaged for Debian
// or npm); with HELM_BIN set, the test runs the real `helm template` and `helm lint` as well.
//
// stdin: {"chartDir", "values", "chart": {"Name","Version","AppVersion"}, "release": {"Name","Namespace","Service"}}
// stdout: the rendered manifests, each preceded by "---\n# Source: <template>\n"; errors on stderr, exit 1.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

type input struct {
	ChartDir string                 `json:"chartDir"`
	Values   map[string]interface{} `json:"values"`
	Chart    map[string]interface{} `json:"chart"`
	Release  map[string]interface{} `json:"release"`
}

func toInt64(v interface{}) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int:
		return int64(n)
	case int64:
		return n
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

func empty(v interface{}) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case int:
		return x == 0
	case int64:
		return x == 0
	case map[string]interface{}:
		return len(x) == 0
	case []interface{}:
		return len(x) == 0
	}
	return false
}

func scalar(v interface{}) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		b, _ := json.Marshal(x)
		plain := x != "" && !strings.ContainsAny(x, ":#{}[],&*!|>'\"%@`\n") && strings.TrimSpace(x) == x
		if _, err := strconv.ParseFloat(x, 64); err == nil {
			plain = false
		}
		switch strings.ToLower(x) {
		case "true", "false", "yes", "no", "on", "off", "null", "~":
			plain = false
		}
		if plain {
			return x
		}
		return string(b)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// toYaml emits block YAML with sorted keys, as Helm's toYaml (sigs.k8s.io/yaml) does.
func toYaml(v interface{}) string {
	var b strings.Builder
	emit(&b, v, 0)
	return strings.TrimSuffix(b.String(), "\n")
}

func emit(b *strings.Builder, v interface{}, indent int) {
	pad := strings.Repeat(" ", indent)
	switch x := v.(type) {
	case map[string]interface{}:
		if len(x) == 0 {
			b.WriteString(pad + "{}\n")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			emitEntry(b, pad+scalar(k)+":", x[k], indent)
		}
	case []interface{}:
		if len(x) == 0 {
			b.WriteString(pad + "[]\n")
			return
		}
		for _, item := range x {
			switch it := item.(type) {
			case map[string]interface{}:
				if len(it) == 0 {
					b.WriteString(pad + "- {}\n")
					continue
				}
				var inner strings.Builder
				emit(&inner, it, indent+2)
				s := inner.String()
				b.WriteString(pad + "- " + strings.TrimPrefix(s, pad+"  "))
			default:
				emitEntry(b, pad+"-", item, indent)
			}
		}
	default:
		b.WriteString(pad + scalar(x) + "\n")
	}
}

func emitEntry(b *strings.Builder, head string, v interface{}, indent int) {
	switch x := v.(type) {
	case map[string]interface{}:
		if len(x) == 0 {
			b.WriteString(head + " {}\n")
			return
		}
		b.WriteString(head + "\n")
		emit(b, x, indent+2)
	case []interface{}:
		if len(x) == 0 {
			b.WriteString(head + " []\n")
			return
		}
		b.WriteString(head + "\n")
		emit(b, x, indent+2)
	default:
		b.WriteString(head + " " + scalar(x) + "\n")
	}
}

func deepCopy(v interface{}) interface{} {
	raw, _ := json.Marshal(v)
	var out interface{}
	_ = json.Unmarshal(raw, &out)
	return out
}

func indentLines(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(1)
	}
	root := template.New("chart")
	funcs := template.FuncMap{
		"include": func(name string, data interface{}) (string, error) {
			var buf bytes.Buffer
			err := root.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
		"toYaml":  toYaml,
		"indent":  indentLines,
		"nindent": func(n int, s string) string { return "\n" + indentLines(n, s) },
		"quote":   func(v interface{}) string { return strconv.Quote(fmt.Sprint(v)) },
		"default": func(d interface{}, v ...interface{}) interface{} {
			if len(v) == 0 || empty(v[0]) {
				return d
			}
			return v[0]
		},
		"required": func(msg string, v interface{}) (interface{}, error) {
			if empty(v) {
				return nil, errors.New(msg)
			}
			return v, nil
		},
		"trunc": func(n int, s string) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"contains":   func(substr, s string) bool { return strings.Contains(s, substr) },
		"sha256sum":  func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) },
		"deepCopy":   deepCopy,
		"dict": func(kv ...interface{}) map[string]interface{} {
			m := map[string]interface{}{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
		"get": func(m map[string]interface{}, k string) interface{} { return m[k] },
		"set": func(m map[string]interface{}, k string, v interface{}) map[string]interface{} { m[k] = v; return m },
		"add": func(a, b interface{}) int64 { return toInt64(a) + toInt64(b) },
		"div": func(a, b interface{}) int64 { return toInt64(a) / toInt64(b) },
		"int": func(v interface{}) int { return int(toInt64(v)) },
	}
	root.Funcs(funcs).Option("missingkey=zero")
	dir := filepath.Join(in.ChartDir, "templates")
	files, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var names []string
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if _, err := root.New(f.Name()).Parse(string(raw)); err != nil {
			fmt.Fprintln(os.Stderr, "parse:", err)
			os.Exit(1)
		}
		if !strings.HasPrefix(f.Name(), "_") {
			names = append(names, f.Name())
		}
	}
	sort.Strings(names)
	data := map[string]interface{}{"Values": in.Values, "Chart": in.Chart, "Release": in.Release}
	for _, name := range names {
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			fmt.Fprintln(os.Stderr, "render:", err)
			os.Exit(1)
		}
		if name == "NOTES.txt" { // rendered (so its errors show) but, as with helm, not a manifest
			continue
		}
		fmt.Printf("---\n# Source: wattline/templates/%s\n%s\n", name, buf.String())
	}
}
