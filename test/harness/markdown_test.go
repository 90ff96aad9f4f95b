package harness

import "testing"

func TestReplaceMarkdownSection(t *testing.T) {
	const soak = "## Soak\n\nnew figures\n"
	tests := []struct {
		name, doc, want string
	}{
		{"appended when absent", "# Report\n\n## Machine\n\nx\n", "# Report\n\n## Machine\n\nx\n\n## Soak\n\nnew figures\n"},
		{"replaced at the end", "# R\n\n## Soak\n\nold\n", "# R\n\n## Soak\n\nnew figures\n"},
		{"replaced in the middle, the next section kept", "# R\n\n## Soak\n\nold\n\n## Noise\n\n- n\n", "# R\n\n## Soak\n\nnew figures\n\n## Noise\n\n- n\n"},
		{"a deeper heading is part of the section", "## Soak\n\n### Figures\n\nold\n## Other\n", "## Soak\n\nnew figures\n\n## Other\n"},
		{"a title that only starts the same is another section", "## Soak test\n\nkeep\n", "## Soak test\n\nkeep\n\n## Soak\n\nnew figures\n"},
		{"empty document", "", "## Soak\n\nnew figures\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReplaceMarkdownSection(tc.doc, "Soak", soak); got != tc.want {
				t.Errorf("ReplaceMarkdownSection:\ngot  %q\nwant %q", got, tc.want)
			}
		})
	}
	doc := "# R\n\n## Soak\n\nfigures\n\n## Noise\n"
	if got, want := MarkdownSection(doc, "Soak"), "## Soak\n\nfigures\n\n"; got != want {
		t.Errorf("MarkdownSection = %q, want %q", got, want)
	}
	if got := MarkdownSection(doc, "Missing"); got != "" {
		t.Errorf("MarkdownSection of a missing title = %q, want empty", got)
	}
}
