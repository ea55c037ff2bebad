%% The BEAM side of the `cluster` suite (bench/cluster-beam.ts): two nodes on loopback, Erlang
%% distribution between them.
%%
%% Node b runs `sink`: a registered process that counts `{msg, Seq, Payload}` messages, answers
%% `{sync, From}` with `{count, C}` (and starts counting again from zero), answers
%% `{ask, From, Ref}` with `{reply, Ref}`, and halts on `stop`, when a connected node goes down
%% (the driver died) or after IDLE_MS without a message.
%% It prints `ready` on stdout once registered.
%%
%% Node a runs `run`: connects to b, then for each case a warm-up round (round 0) and the measured
%% rounds, one JSON line on stdout a round (the protocol of bench/cluster-cases.ts):
%%   oneway-64B: send Count messages with a 64-byte binary payload, then `sync`; time from the first
%%     send until the sink's count arrives (the count is what the sink received).
%%   ask-rtt: Count sequential round trips, each timed; nearest-rank p50 and p99 in microseconds.
%% Then it stops the sink, waits for node b to go down, and halts. Any failure: a message on stderr and exit code 1.
%%
%% By hand (an epmd running): erl -name b@127.0.0.1 -setcookie c -noshell -run distbench sink
%% and erl -name a@127.0.0.1 -setcookie c -noshell -run distbench run b@127.0.0.1 oneway-64B:1000000:200000:3 ask-rtt:20000:2000:1
-module(distbench).
-export([sink/0, run/1]).

-define(IDLE_MS, 60000).
-define(REPLY_TIMEOUT_MS, 60000).
-define(PAYLOAD_BYTES, 64).

sink() ->
    register(sink, self()),
    ok = net_kernel:monitor_nodes(true),
    io:format("ready~n"),
    sink_loop(0).

sink_loop(C) ->
    receive
        {msg, _Seq, _Payload} -> sink_loop(C + 1);
        {sync, From} -> From ! {count, C}, sink_loop(0);
        {ask, From, Ref} -> From ! {reply, Ref}, sink_loop(C);
        stop -> erlang:halt(0);
        {nodeup, _Node} -> sink_loop(C);
        {nodedown, Node} ->
            io:format(standard_error, "sink: ~p went down before stop, halting~n", [Node]),
            erlang:halt(3);
        Other ->
            io:format(standard_error, "sink: unexpected message ~p~n", [Other]),
            erlang:halt(1)
    after ?IDLE_MS ->
        io:format(standard_error, "sink: idle for ~b ms, halting~n", [?IDLE_MS]),
        erlang:halt(2)
    end.

run([PeerName | Specs]) ->
    try
        Peer = list_to_atom(PeerName),
        Cases = [parse_spec(S) || S <- Specs],
        case net_kernel:connect_node(Peer) of
            true -> ok;
            Failed -> error({connect_failed, Peer, Failed})
        end,
        case rpc:call(Peer, erlang, whereis, [sink], ?REPLY_TIMEOUT_MS) of
            Pid when is_pid(Pid) -> ok;
            NoSink -> error({no_sink, Peer, NoSink})
        end,
        Dest = {sink, Peer},
        [run_case(Case, Dest) || Case <- Cases],
        %% Halting at once could lose `stop` in the outgoing buffer: wait until b is gone.
        monitor_node(Peer, true),
        Dest ! stop,
        receive {nodedown, Peer} -> ok
        after ?REPLY_TIMEOUT_MS -> error(sink_did_not_stop)
        end,
        erlang:halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "distbench failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
            erlang:halt(1)
    end.

%% "oneway-64B:Count:Warmup:Rounds"
parse_spec(Spec) ->
    [Name, Count, Warmup, Rounds] = string:split(Spec, ":", all),
    {Name, list_to_integer(Count), list_to_integer(Warmup), list_to_integer(Rounds)}.

run_case({Name, Count, Warmup, Rounds}, Dest) ->
    [run_round(Name, R, case R of 0 -> Warmup; _ -> Count end, Dest) || R <- lists:seq(0, Rounds)].

run_round("oneway-64B", R, N, Dest) ->
    Payload = binary:copy(<<"x">>, ?PAYLOAD_BYTES),
    T0 = erlang:monotonic_time(nanosecond),
    send_loop(Dest, Payload, 1, N),
    Dest ! {sync, self()},
    C = receive {count, Counted} -> Counted
        after ?REPLY_TIMEOUT_MS -> error(no_count)
        end,
    S = (erlang:monotonic_time(nanosecond) - T0) / 1.0e9,
    io:format("{\"case\":\"oneway-64B\",\"round\":~b,\"messages\":~b,\"seconds\":~.6f}~n", [R, C, S]);
run_round("ask-rtt", R, N, Dest) ->
    Sorted = lists:sort(ask_loop(Dest, N, [])),
    P50 = nearest_rank(Sorted, N, 50) / 1000,
    P99 = nearest_rank(Sorted, N, 99) / 1000,
    io:format("{\"case\":\"ask-rtt\",\"round\":~b,\"samples\":~b,\"p50_us\":~.3f,\"p99_us\":~.3f}~n", [R, N, P50, P99]).

send_loop(_Dest, _Payload, I, N) when I > N -> ok;
send_loop(Dest, Payload, I, N) ->
    Dest ! {msg, I, Payload},
    send_loop(Dest, Payload, I + 1, N).

ask_loop(_Dest, 0, Acc) -> Acc;
ask_loop(Dest, K, Acc) ->
    Ref = make_ref(),
    S = erlang:monotonic_time(nanosecond),
    Dest ! {ask, self(), Ref},
    receive {reply, Ref} -> ok
    after ?REPLY_TIMEOUT_MS -> error(no_reply)
    end,
    ask_loop(Dest, K - 1, [erlang:monotonic_time(nanosecond) - S | Acc]).

%% Nearest rank: the ceil(P/100 * N)-th smallest (1-based).
nearest_rank(Sorted, N, P) ->
    Rank = max(1, (P * N + 99) div 100),
    lists:nth(Rank, Sorted).
