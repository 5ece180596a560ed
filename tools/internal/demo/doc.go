// Package demo is the streamkit demo server behind `make demo` and the
// streamkit-demo command: one embedded page (no build step, no CDN) and
// every transport on one http.ServeMux over one eventstore.Store.
//
//	/             the page: ticker, chat, notifications, job
//	/sse/ticker   sse.Server; a tick per Config.Tick whose number comes from
//	              the store, so a restart with a durable store goes on counting;
//	              POST publishes its JSON body as a tick (-tick 0: no ticker)
//	/ws/chat      ws.Server and ws.Hub: rooms (?room=), names (?name=); text
//	              or {"text":...} in, JSON out; message IDs from the store;
//	              with Redis, ?after=ID resumes (at most 200 messages, else "gap")
//	/poll/...     longpoll.Broker (golongpoll wire); categories are checked so
//	              that no client reads or writes another transport's stream
//	/mcp          streamable.Server with the tools "job" (progress per step,
//	              then a notification) and "echo"; same-origin browsers only
//	/stream       httpstream echo (protocol streamkit.v1)
//	/healthz      "ok"
//	/stats        connections per transport, events, evictions (Stats)
//
// With -store redis:// the demo runs in scale-out mode: one
// eventstore/fanout hub per process feeds the SSE ticker, long polling, chat
// rooms and MCP stream resumption, so several processes over one Redis
// behind a load balancer act as one (join/leave notices and MCP sessions
// stay per process). See the README, "Running more than one process".
//
// Run serves until its context ends or a signal arrives, through
// httpx.ListenAndServeGraceful with every transport's shutdown as a hook
// (ticker first, so nothing is published into a closing server), then
// closes the store. Start runs it in-process for tests; Main is the command.
//
// A browser holds two HTTP/1.1 connections per open page (the SSE stream
// and the waiting long poll) and allows six per origin, so a third tab of
// the same origin waits; WebSockets do not count against that limit.
package demo
