package harness

import "strings"

// MarkdownSection returns the level-2 section of doc titled title: its
// "## title" line and everything up to the next "## " heading or the end,
// or "" when doc has no such section. Reports that several suites write
// into one file (BENCHMARKS.md) use it to keep each other's sections.
func MarkdownSection(doc, title string) string {
	start, end := sectionBounds(doc, title)
	if start < 0 {
		return ""
	}
	return doc[start:end]
}

// ReplaceMarkdownSection returns doc with its level-2 section titled title
// replaced by section (which should start with "## title"), or with section
// appended when doc has none.
func ReplaceMarkdownSection(doc, title, section string) string {
	if !strings.HasSuffix(section, "\n") {
		section += "\n"
	}
	start, end := sectionBounds(doc, title)
	if start < 0 {
		if doc != "" && !strings.HasSuffix(doc, "\n\n") {
			doc = strings.TrimRight(doc, "\n") + "\n\n"
		}
		return doc + section
	}
	if end < len(doc) && !strings.HasSuffix(section, "\n\n") {
		section += "\n"
	}
	return doc[:start] + section + doc[end:]
}

// sectionBounds returns the byte range of the section, or -1, -1.
func sectionBounds(doc, title string) (start, end int) {
	heading := "## " + title
	start, end = -1, len(doc)
	off := 0
	for _, line := range strings.SplitAfter(doc, "\n") {
		trimmed := strings.TrimRight(line, "\r\n")
		switch {
		case start < 0 && trimmed == heading:
			start = off
		case start >= 0 && strings.HasPrefix(trimmed, "## "):
			return start, off
		}
		off += len(line)
	}
	if start < 0 {
		return -1, -1
	}
	return start, end
}
