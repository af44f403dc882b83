package meta

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// list answers a list endpoint with RabbitMQ's query parameters: sort and
// sort_reverse (a dotted field path), page / page_size / name / use_regex
// (a paged answer), and columns (only the named, possibly dotted, fields).
func (rq *request) list(items []map[string]any) error {
	q := rq.r.URL.Query()
	if key := q.Get("sort"); key != "" {
		sort.SliceStable(items, func(i, j int) bool { return lessValue(lookupPath(items[i], key), lookupPath(items[j], key)) })
	}
	if q.Get("sort_reverse") == "true" {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	cols := q.Get("columns")
	if !q.Has("page") {
		return rq.ok(project(items, cols))
	}
	return rq.page(items, cols)
}

func (rq *request) page(items []map[string]any, cols string) error {
	q := rq.r.URL.Query()
	page, perr := strconv.Atoi(q.Get("page"))
	size, serr := 100, error(nil)
	if q.Has("page_size") {
		size, serr = strconv.Atoi(q.Get("page_size"))
	}
	if perr != nil || serr != nil || page < 1 || size < 1 || size > 500 {
		return &apiError{http.StatusBadRequest, "invalid_pagination_parameters",
			fmt.Sprintf("Invalid pagination parameters: page number %s, page size %s", orUndefined(q.Get("page")), orUndefined(q.Get("page_size")))}
	}
	total := len(items)
	if name := q.Get("name"); name != "" {
		match := func(s string) bool { return strings.Contains(s, name) }
		if q.Get("use_regex") == "true" {
			re, err := regexp.Compile(name)
			if err != nil {
				return errBadRequest("invalid regular expression")
			}
			match = re.MatchString
		}
		kept := items[:0:0]
		for _, it := range items {
			if n, _ := it["name"].(string); match(n) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	filtered := len(items)
	from := min((page-1)*size, filtered)
	to := min(from+size, filtered)
	return rq.ok(map[string]any{
		"filtered_count": filtered, "item_count": to - from, "items": project(items[from:to], cols),
		"page": page, "page_count": (filtered + size - 1) / size, "page_size": size, "total_count": total,
	})
}

func orUndefined(s string) string {
	if s == "" {
		return "undefined"
	}
	return s
}

func lookupPath(m map[string]any, path string) any {
	var v any = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[part]
	}
	return v
}

func lessValue(a, b any) bool {
	na, aok := numeric(a)
	nb, bok := numeric(b)
	if aok && bok {
		return na < nb
	}
	return fmt.Sprint(a) < fmt.Sprint(b)
}

// project keeps only the columns of each item (all when cols is empty).
func project(items []map[string]any, cols string) []map[string]any {
	if cols == "" {
		return items
	}
	paths := strings.Split(cols, ",")
	out := make([]map[string]any, len(items))
	for i, it := range items {
		p := map[string]any{}
		for _, path := range paths {
			v := lookupPath(it, path)
			if v == nil {
				continue
			}
			dst := p
			parts := strings.Split(path, ".")
			for _, part := range parts[:len(parts)-1] {
				next, ok := dst[part].(map[string]any)
				if !ok {
					next = map[string]any{}
					dst[part] = next
				}
				dst = next
			}
			dst[parts[len(parts)-1]] = v
		}
		out[i] = p
	}
	return out
}
