package release

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// PlanRow is one module's line of a release plan.
type PlanRow struct {
	Module  Module
	Last    string // last tag's version, "" if never released
	Changed bool   // anything changed in the module since Last
	API     Kind   // API change since Last (APINone when never released)
	APIMsgs []string
	Next    string   // proposed version, "" when nothing changed
	Follow  []string // modules that require this one and must follow it
}

// Plan computes, for every released module, what changed since its last tag
// and which version it should get next.
func Plan(root string) ([]PlanRow, error) {
	mods, err := Discover(root)
	if err != nil {
		return nil, err
	}
	var rows []PlanRow
	for _, m := range mods {
		r := PlanRow{Module: m}
		last, ok, err := LastTag(root, m.Dir)
		if err != nil {
			return nil, err
		}
		if !ok {
			r.Changed, r.Next = true, FirstVersion
		} else {
			r.Last = last
			r.Changed, err = ChangedSince(root, m.Dir, m.Dir+"/"+last, nestedDirs(mods, m.Dir))
			if err != nil {
				return nil, err
			}
			if r.Changed {
				r.API, r.APIMsgs, err = APIChange(root, m.Dir, m.Dir+"/"+last)
				if err != nil {
					return nil, err
				}
				r.Next = Next(last, r.API)
			}
		}
		if r.Changed {
			for _, d := range Dependents(mods, m.Path) {
				r.Follow = append(r.Follow, d.Dir)
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// nestedDirs lists the folders of modules nested inside dir.
func nestedDirs(mods []Module, dir string) []string {
	var out []string
	for _, m := range mods {
		if strings.HasPrefix(m.Dir, dir+"/") {
			out = append(out, m.Dir)
		}
	}
	return out
}

// WritePlan prints rows as a table, followed by each module's API messages.
func WritePlan(w io.Writer, rows []PlanRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tLAST\tCHANGED\tAPI\tNEXT\tMUST FOLLOW")
	for _, r := range rows {
		last, api, next := r.Last, r.API.String(), r.Next
		if last == "" {
			last, api = "-", "new"
		}
		if next == "" {
			next = "-"
		}
		follow := strings.Join(r.Follow, " ")
		if follow == "" {
			follow = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", r.Module.Dir, last, r.Changed, api, next, follow)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if len(r.APIMsgs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s since %s:\n", r.Module.Dir, r.Last)
		for _, m := range r.APIMsgs {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	return nil
}
