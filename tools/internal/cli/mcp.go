package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/streamkit-dev/streamkit/streamable"
)

func runMCP(e *env, args []string) error {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the raw JSON result")
	hdr := headers{}
	fs.Var(hdr, "H", "request header 'Name: value' (repeatable), e.g. Authorization")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return &usageError{"want URL list, or URL call TOOL [ARGS-JSON]"}
	}
	url, verb := pos[0], pos[1]
	var tool string
	args_ := json.RawMessage(`{}`)
	switch verb {
	case "list":
		if err := needArgs(pos, 2, "URL list"); err != nil {
			return err
		}
	case "call":
		if len(pos) < 3 || len(pos) > 4 {
			return &usageError{"want URL call TOOL [ARGS-JSON]"}
		}
		tool = pos[2]
		if len(pos) == 4 {
			args_ = json.RawMessage(pos[3])
			var obj map[string]any
			if json.Unmarshal(args_, &obj) != nil {
				return &usageError{"ARGS must be a JSON object, e.g. '{\"steps\":5}'"}
			}
		}
	default:
		return &usageError{fmt.Sprintf("unknown mcp verb %q (want list or call)", verb)}
	}

	c := streamable.NewClient(url, streamable.ClientOptions{Header: http.Header(hdr), HTTPClient: &http.Client{Transport: e.tr}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	}()
	init, err := c.Call(e.ctx, "initialize", map[string]any{
		"protocolVersion": streamable.Rev20251125,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]string{"name": "streamkit-cli", "version": "0.1.0"},
	}, nil)
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if init.Error != nil {
		return &peerError{fmt.Sprintf("initialize: %d %s", init.Error.Code, init.Error.Message)}
	}
	var info struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct {
			Name, Version string
		} `json:"serverInfo"`
	}
	_ = json.Unmarshal(init.Result, &info)
	e.logf("mcp: session %q with %s %s (protocol %s)", c.SessionID(), info.ServerInfo.Name, info.ServerInfo.Version, info.ProtocolVersion)
	if err := c.Notify(e.ctx, "notifications/initialized", nil); err != nil {
		return fmt.Errorf("notifications/initialized: %w", err)
	}

	if verb == "list" {
		res, err := c.Call(e.ctx, "tools/list", map[string]any{}, nil)
		if err != nil {
			return err
		}
		if res.Error != nil {
			return &peerError{fmt.Sprintf("tools/list: %d %s", res.Error.Code, res.Error.Message)}
		}
		if *asJSON {
			_, err = fmt.Fprintln(e.stdout, string(res.Result))
			return err
		}
		var tl struct {
			Tools []struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(res.Result, &tl); err != nil {
			return fmt.Errorf("tools/list: %w", err)
		}
		for _, t := range tl.Tools {
			if _, err := fmt.Fprintf(e.stdout, "%s\t%s\n", t.Name, t.Description); err != nil {
				return err
			}
		}
		return nil
	}

	onNotify := func(m *streamable.Message) {
		if m.Method != "notifications/progress" {
			e.logf("mcp: %s %s", m.Method, m.Params)
			return
		}
		var p struct {
			Progress float64 `json:"progress"`
			Total    float64 `json:"total"`
			Message  string  `json:"message"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Total > 0 {
			e.logf("mcp: progress %g/%g (%.0f%%) %s", p.Progress, p.Total, 100*p.Progress/p.Total, p.Message)
		} else {
			e.logf("mcp: progress %g %s", p.Progress, p.Message)
		}
	}
	res, err := c.Call(e.ctx, "tools/call", map[string]any{
		"name":      tool,
		"arguments": args_,
		"_meta":     map[string]any{"progressToken": "streamkit-cli"},
	}, onNotify)
	if err != nil {
		return err
	}
	if res.Error != nil {
		return &peerError{fmt.Sprintf("tools/call: %d %s", res.Error.Code, res.Error.Message)}
	}
	var r struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(res.Result, &r); err != nil {
		return fmt.Errorf("tools/call: %w", err)
	}
	if *asJSON {
		if _, err := fmt.Fprintln(e.stdout, string(res.Result)); err != nil {
			return err
		}
	} else {
		for _, c := range r.Content {
			if c.Type == "text" {
				if _, err := fmt.Fprintln(e.stdout, c.Text); err != nil {
					return err
				}
			}
		}
	}
	if r.IsError {
		return &peerError{"the tool reported an error"}
	}
	return nil
}
