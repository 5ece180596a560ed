package main

// scenarios lists every benchmark scenario, in the order they run. Each area
// keeps its scenarios in its own file (codec.go, eventstore.go, ...) and adds
// one line here.
func scenarios() []Scenario {
	var s []Scenario
	s = append(s, codecScenarios()...)
	s = append(s, authretryScenarios()...)
	s = append(s, redisstoreScenarios()...)
	s = append(s, eventstoreScenarios()...)
	s = append(s, wsScenarios()...)
	s = append(s, longpollScenarios()...)
	s = append(s, streamableScenarios()...)
	s = append(s, sseScenarios()...)
	s = append(s, scaleoutScenarios()...)
	return s
}
