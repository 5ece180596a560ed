package release

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRepoReleaseCheck is `make release-check` on this repository, inside
// `make test`, so the release path cannot rot: every released module is
// consumed alone, at a tag, through a file proxy, and pulls nothing it does
// not build with.
func TestRepoReleaseCheck(t *testing.T) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	require.NoError(t, err, "the release check runs in a git work tree")
	root := strings.TrimSpace(string(out))

	mods, err := Discover(root)
	require.NoError(t, err)
	require.NotEmpty(t, mods)

	var log bytes.Buffer
	rows, err := Check(root, CheckOptions{Log: &log})
	require.NoError(t, err, log.String())
	require.Len(t, rows, len(mods), "one consumer per released module")
	var table bytes.Buffer
	require.NoError(t, WriteCheck(&table, rows))
	t.Log("\n" + table.String())
	for _, r := range rows {
		assert.Contains(t, r.Built, r.Module.Path, "the consumer of %s builds it in", r.Module.Dir)
		assert.Positive(t, r.Size)
		assert.NotEmpty(t, r.Output, "the consumer of %s printed nothing", r.Module.Dir)
	}
}
