package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// goSDKHandler serves, with modelcontextprotocol/go-sdk, the same "count"
// tool as the streamable example server: n progress notifications (when
// the call carries a progress token), then "counted to n".
func goSDKHandler(jsonMode bool) http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "0.0.1"}, nil)
	type countArgs struct {
		N    int  `json:"n"`
		Drop bool `json:"drop,omitempty"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "count", Description: "Counts to n, sending a progress notification per step."},
		func(ctx context.Context, req *mcp.CallToolRequest, in countArgs) (*mcp.CallToolResult, any, error) {
			if token := req.Params.GetProgressToken(); token != nil {
				for i := 1; i <= in.N; i++ {
					err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: float64(i), Total: float64(in.N)})
					if err != nil {
						return nil, nil, err
					}
				}
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("counted to %d", in.N)}}}, nil, nil
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{JSONResponse: jsonMode})
}
