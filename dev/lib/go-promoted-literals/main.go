// go-promoted-literals rewrites composite literals that set promoted fields, which Go 1.27
// allows (T{Name: x} where Name belongs to an embedded field E of T), into the form every
// Go version accepts (T{E: E{Name: x}}), in the packages of the module in the given
// directory. dev/lib/build-external-dns.sh runs it when a module needs a newer go than the
// installed one. Usage: go-promoted-literals DIR   (prints what it rewrote on stderr)
package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

type edit struct {
	start, end int
	text       string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go-promoted-literals DIR")
		os.Exit(2)
	}
	dir, _ := filepath.Abs(os.Args[1])
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
			packages.NeedTypesInfo | packages.NeedImports | packages.NeedDeps,
		Dir: dir,
	}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-promoted-literals:", err)
		os.Exit(1)
	}
	edits := map[string][]edit{}
	for _, p := range pkgs {
		if !strings.HasPrefix(p.PkgPath, modulePath(dir)) || p.TypesInfo == nil {
			continue
		}
		for _, f := range p.Syntax {
			name := p.Fset.File(f.Pos()).Name()
			src, err := os.ReadFile(name)
			if err != nil {
				continue
			}
			imports := map[string]string{} // package path -> alias, imports the rewrite adds
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				es, err := rewrite(p, f, lit, src, imports)
				if err != nil {
					fmt.Fprintf(os.Stderr, "go-promoted-literals: %s: %v\n", p.Fset.Position(lit.Pos()), err)
					os.Exit(1)
				}
				if len(es) > 0 {
					fmt.Fprintf(os.Stderr, "go-promoted-literals: %s\n", p.Fset.Position(lit.Pos()))
					edits[name] = append(edits[name], es...)
				}
				return true
			})
			if len(imports) > 0 {
				var b strings.Builder
				b.WriteString("\n\nimport (\n")
				for path, alias := range imports {
					fmt.Fprintf(&b, "\t%s %q\n", alias, path)
				}
				b.WriteString(")")
				at := p.Fset.Position(f.Name.End()).Offset
				edits[name] = append(edits[name], edit{at, at, b.String()})
			}
		}
	}
	for name, es := range edits {
		src, _ := os.ReadFile(name)
		sort.Slice(es, func(i, j int) bool { return es[i].start > es[j].start })
		for _, e := range es {
			src = append(src[:e.start], append([]byte(e.text), src[e.end:]...)...)
		}
		if err := os.WriteFile(name, src, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "go-promoted-literals:", err)
			os.Exit(1)
		}
	}
}

func modulePath(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "\x00"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(l, "module "))
		}
	}
	return "\x00"
}

// The edits that move the promoted keys of `lit` into literals of their embedded fields.
func rewrite(p *packages.Package, f *ast.File, lit *ast.CompositeLit, src []byte,
	imports map[string]string) ([]edit, error) {
	t := p.TypesInfo.TypeOf(lit)
	if t == nil {
		return nil, nil
	}
	if ptr, ok := t.Underlying().(*types.Pointer); ok { // elided &T in []*T{{...}}
		t = ptr.Elem()
	}
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return nil, nil
	}
	groups := map[int]*node{} // embedded field index -> the keys that belong to it
	var order []int
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, ok := kv.Key.(*ast.Ident)
		if !ok || direct(st, key.Name) {
			continue
		}
		_, index, _ := types.LookupFieldOrMethod(t, false, p.Types, key.Name)
		if len(index) < 2 {
			continue // not a field at all: the compiler will say so
		}
		if _, seen := groups[index[0]]; !seen {
			order = append(order, index[0])
			groups[index[0]] = &node{children: map[int]*node{}}
		}
		groups[index[0]].add(index[1:], kv)
	}
	if len(order) == 0 {
		return nil, nil
	}
	fset := p.Fset
	off := func(pos token.Pos) int { return fset.Position(pos).Offset }
	var out []edit
	for _, idx := range order {
		g := groups[idx]
		text := g.text(st.Field(idx), qualifier(p, f, imports), func(kv *ast.KeyValueExpr) []byte {
			return src[off(kv.Pos()):off(kv.End())]
		})
		for i, kv := range g.all {
			start, end := off(kv.Pos()), off(kv.End())
			if i == 0 {
				out = append(out, edit{start, end, text})
				continue
			}
			// Drop the element, its comma and the rest of its line.
			for end < len(src) && (src[end] == ' ' || src[end] == '\t') {
				end++
			}
			if end < len(src) && src[end] == ',' {
				end++
			}
			for end < len(src) && (src[end] == ' ' || src[end] == '\t') {
				end++
			}
			if end < len(src) && src[end] == '\n' {
				end++
				for start > 0 && (src[start-1] == ' ' || src[start-1] == '\t') {
					start--
				}
			}
			out = append(out, edit{start, end, ""})
		}
	}
	return out, nil
}

// The keys set through one embedded field: its own (path ends here) and deeper ones.
type node struct {
	keys     []*ast.KeyValueExpr
	order    []int
	children map[int]*node
	all      []*ast.KeyValueExpr // every key below, in source order
}

func (n *node) add(path []int, kv *ast.KeyValueExpr) {
	n.all = append(n.all, kv)
	if len(path) == 1 {
		n.keys = append(n.keys, kv)
		return
	}
	c, ok := n.children[path[0]]
	if !ok {
		c = &node{children: map[int]*node{}}
		n.children[path[0]] = c
		n.order = append(n.order, path[0])
	}
	c.add(path[1:], kv)
}

// "Emb: Type{k: v, Inner: Inner{...}}" (&Type for an embedded pointer).
func (n *node) text(emb *types.Var, q types.Qualifier, src func(*ast.KeyValueExpr) []byte) string {
	typ := emb.Type()
	amp := ""
	if ptr, ok := typ.(*types.Pointer); ok {
		typ, amp = ptr.Elem(), "&"
	}
	var parts []string
	for _, kv := range n.keys {
		parts = append(parts, string(src(kv)))
	}
	st, _ := typ.Underlying().(*types.Struct)
	for _, i := range n.order {
		parts = append(parts, n.children[i].text(st.Field(i), q, src))
	}
	return fmt.Sprintf("%s: %s%s{%s}", emb.Name(), amp, types.TypeString(typ, q), strings.Join(parts, ", "))
}

func direct(st *types.Struct, name string) bool {
	for i := 0; i < st.NumFields(); i++ {
		if st.Field(i).Name() == name {
			return true
		}
	}
	return false
}

// Names packages as the file imports them (the file's own package unqualified); a package
// the file does not import gets an alias in `imports` (added to the file by the caller).
func qualifier(p *packages.Package, f *ast.File, imports map[string]string) types.Qualifier {
	return func(other *types.Package) string {
		if other == p.Types {
			return ""
		}
		for _, im := range f.Imports {
			if strings.Trim(im.Path.Value, `"`) == other.Path() {
				if im.Name != nil {
					return im.Name.Name
				}
				return other.Name()
			}
		}
		if alias, ok := imports[other.Path()]; ok {
			return alias
		}
		alias := fmt.Sprintf("promoted%d%s", len(imports), other.Name())
		imports[other.Path()] = alias
		return alias
	}
}
