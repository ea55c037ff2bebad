%% The BEAM side of `npm run bench -- fairness` (bench/fairness.ts compiles and runs it with +S 1).
%%
%% Usage: erlc -o DIR fairness.erl && erl -noshell +S 1 -pa DIR -run fairness main SPEC...
%% SPEC is CASE:COST_US:BACKLOG:WARMUP:SAMPLES, e.g. flood-2ms:2000:200:20:500.
%%
%% Per SPEC: a neighbour keeps BACKLOG messages in its own mailbox, each spending COST_US of CPU
%% and sending itself the next; beside it an echo. This process asks the echo WARMUP times, then
%% SAMPLES times timed, one at a time, and prints on stdout a note with the samples and the
%% neighbour's messages during them, then the round trips' p50 and p99 (nearest rank) as JSON
%% lines. A failure prints `[fairness] beam failed: ...` on stderr and halts with status 1.
-module(fairness).
-export([main/1]).

main(Specs) ->
    try
        lists:foreach(fun run/1, Specs),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "[fairness] beam failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
            halt(1)
    end.

run(Spec) ->
    [Case | Numbers] = string:split(Spec, ":", all),
    [CostUs, Backlog, Warmup, Samples] = [list_to_integer(N) || N <- Numbers],
    Neighbour = spawn(fun() -> [self() ! work || _ <- lists:seq(1, Backlog)], neighbour(CostUs, 0) end),
    Echo = spawn(fun echo/0),
    _ = [ask(Echo) || _ <- lists:seq(1, Warmup)],
    Neighbour ! {count, self()},
    Start = erlang:monotonic_time(microsecond),
    Rtts = lists:sort([ask(Echo) || _ <- lists:seq(1, Samples)]),
    Window = erlang:monotonic_time(microsecond) - Start,
    Neighbour ! {count, self()},
    %% Each count is answered behind the backlog: the difference is what ran during the window.
    Before = receive {count, N0} -> N0 after 60000 -> error(no_count) end,
    After = receive {count, N1} -> N1 after 60000 -> error(no_count) end,
    exit(Neighbour, kill),
    exit(Echo, kill),
    io:format("[fairness] beam ~s samples=~b window_us=~b neighbour_messages=~b~n",
              [Case, Samples, Window, After - Before]),
    result(Case, "rtt_p50_us", percentile(Rtts, 0.5)),
    result(Case, "rtt_p99_us", percentile(Rtts, 0.99)).

neighbour(CostUs, Handled) ->
    receive
        work ->
            burn(erlang:monotonic_time(microsecond) + CostUs),
            self() ! work,
            neighbour(CostUs, Handled + 1);
        {count, From} ->
            From ! {count, Handled},
            neighbour(CostUs, Handled)
    end.

burn(Until) ->
    case erlang:monotonic_time(microsecond) < Until of
        true -> burn(Until);
        false -> ok
    end.

echo() ->
    receive
        {ask, From, Ref} ->
            From ! {Ref, pong},
            echo()
    end.

%% One round trip in microseconds.
ask(Echo) ->
    Ref = make_ref(),
    T0 = erlang:monotonic_time(nanosecond),
    Echo ! {ask, self(), Ref},
    receive {Ref, pong} -> ok end,
    (erlang:monotonic_time(nanosecond) - T0) / 1000.

percentile(Sorted, P) ->
    Rank = max(1, min(length(Sorted), ceil(P * length(Sorted)))),
    lists:nth(Rank, Sorted).

result(Case, Metric, Value) ->
    io:format("{\"suite\":\"fairness\",\"case\":\"~s\",\"system\":\"beam\",\"metric\":\"~s\",\"value\":~.1f}~n",
              [Case, Metric, float(Value)]).
