%% The BEAM side of `npm run bench -- savina` (bench/savina-beam.ts compiles and runs it).
%%
%% Usage: erlc -o DIR savina.erl &&
%%        erl -noshell +S 2 +P 2100000 -pa DIR -run savina main SPEC...
%%
%% Each SPEC is CASE:KEY=VALUE,KEY=VALUE, optionally followed by :warmup or :rounds=R, for
%% example `pingpong:n=1000000:rounds=3` or `threadring:processes=100,n=100000:warmup`. The cases,
%% their parameters and how their messages are counted are those of bench/savina-cases.ts (see the
%% `savina` section of bench/README.md); the parameters always come from the command line.
%%
%% A measured SPEC runs its case R times (1 without :rounds) and prints, for the median round, one
%% JSON line a metric on stdout in the bench format,
%%   {"suite":"savina","case":"pingpong","system":"beam","metric":"msgs_per_s","value":4012345}
%% Each round also prints a note on stderr, `[savina] beam CASE round I/R messages=M seconds=S`
%% (`processes=` for spawn), which savina-beam.ts checks against the case table. A warm-up SPEC
%% runs once and prints only its note (`[savina] beam CASE (warm-up) messages=...`).
%% Every case checks its own result (a count, a total, a sum); a failed check, a bad SPEC or a
%% case that does not finish within ?CASE_TIMEOUT ms prints `[savina] beam failed: ...` on
%% stderr and halts with status 1, so a broken run reports no figure.
-module(savina).
-export([main/1]).

-define(CASE_TIMEOUT, 120000).

main(Specs) ->
    try
        lists:foreach(fun run_spec/1, Specs),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "[savina] beam failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
            halt(1)
    end.

%% ---------------------------------------------------------------------------------------------
%% Command line and output

run_spec(Spec) ->
    case parse_spec(Spec) of
        {Case, Params, warmup} ->
            _ = run_round(Case, Params, " (warm-up)"),
            ok;
        {Case, Params, {rounds, R}} ->
            Outcomes = [run_round(Case, Params, io_lib:format(" round ~b/~b", [I, R])) || I <- lists:seq(1, R)],
            report_median(Case, Outcomes)
    end.

run_round(Case, Params, Tag) ->
    Outcome = run_case(Case, Params),
    case Outcome of
        {messages, Msgs, Seconds} ->
            note("~s~s messages=~b seconds=~.6f", [Case, Tag, Msgs, Seconds]);
        {spawn, Procs, Seconds, BytesPerProcess} ->
            note("~s~s processes=~b seconds=~.6f bytes_per_process=~.1f", [Case, Tag, Procs, Seconds, BytesPerProcess])
    end,
    Outcome.

report_median(Case, [{messages, _, _} | _] = Outcomes) ->
    result(Case, "msgs_per_s", integer_to_list(round(median([M / S || {messages, M, S} <- Outcomes]))));
report_median(Case, [{spawn, _, _, _} | _] = Outcomes) ->
    result(Case, "spawns_per_s", integer_to_list(round(median([P / S || {spawn, P, S, _} <- Outcomes])))),
    result(Case, "bytes_per_process", float_to_list(median([B || {spawn, _, _, B} <- Outcomes]), [{decimals, 1}])).

%% Nearest-rank median, as bench/support/stats.ts.
median(Values) ->
    Sorted = lists:sort(Values),
    lists:nth((length(Sorted) + 1) div 2, Sorted).

parse_spec(Spec) ->
    case string:split(Spec, ":", all) of
        [Case, Params] -> {Case, parse_params(Params), {rounds, 1}};
        [Case, Params, "warmup"] -> {Case, parse_params(Params), warmup};
        [Case, Params, "rounds=" ++ R] -> {Case, parse_params(Params), {rounds, positive(list_to_integer(R))}};
        _ -> error({bad_spec, Spec})
    end.

positive(N) when is_integer(N), N > 0 -> N;
positive(N) -> error({not_positive, N}).

parse_params(Text) ->
    maps:from_list([parse_param(KV) || KV <- string:lexemes(Text, ",")]).

parse_param(KV) ->
    case string:split(KV, "=") of
        [Key, Value] -> {Key, list_to_integer(Value)};
        _ -> error({bad_param, KV})
    end.

param(Params, Key) ->
    case maps:find(Key, Params) of
        {ok, Value} when is_integer(Value), Value > 0 -> Value;
        {ok, Value} -> error({bad_param_value, Key, Value});
        error -> error({missing_param, Key})
    end.

run_case("pingpong", P) -> pingpong(param(P, "n"));
run_case("counting", P) -> counting(param(P, "n"));
run_case("threadring", P) -> threadring(param(P, "processes"), param(P, "n"));
run_case("fjthrput", P) -> fjthrput(param(P, "processes"), param(P, "m"));
run_case("fjcreate", P) -> fjcreate(param(P, "n"));
run_case("big", P) -> big(param(P, "workers"), param(P, "n"));
run_case("chameneos", P) -> chameneos(param(P, "chameneos"), param(P, "n"));
run_case("spawn", P) -> spawn_idle(param(P, "n"));
run_case(Case, _) -> error({unknown_case, Case}).

result(Case, Metric, Value) ->
    io:format("{\"suite\":\"savina\",\"case\":\"~s\",\"system\":\"beam\",\"metric\":\"~s\",\"value\":~s}~n",
              [Case, Metric, Value]).

note(Format, Args) ->
    io:format(standard_error, "[savina] beam " ++ Format ++ "~n", Args).

now_ns() -> erlang:monotonic_time(nanosecond).
seconds_since(T0) -> (now_ns() - T0) / 1.0e9.

%% Waits for one message matching Pattern and evaluates Result, or fails the run when none has
%% come after ?CASE_TIMEOUT ms (a worker that crashed or lost a message).
-define(AWAIT(Pattern, Result),
        receive Pattern -> Result
        after ?CASE_TIMEOUT -> error({timeout, ??Pattern})
        end).

check(true, _What) -> ok;
check(false, What) -> error({check_failed, What}).

%% ---------------------------------------------------------------------------------------------
%% pingpong: a pinger and a ponger, N round trips. Messages: 2N (N pings, N pongs).

pingpong(N) ->
    Self = self(),
    Pong = spawn(fun() -> pong_loop(0) end),
    spawn(fun() ->
                  T0 = now_ns(),
                  ping_loop(Pong, N),
                  Self ! {pingpong_done, seconds_since(T0)}
          end),
    Seconds = ?AWAIT({pingpong_done, S}, S),
    Pong ! {stop, Self},
    Served = ?AWAIT({pong_served, C}, C),
    check(Served =:= N, {pings_served, Served, N}),
    {messages, 2 * N, Seconds}.

ping_loop(_Pong, 0) -> ok;
ping_loop(Pong, N) ->
    Pong ! {ping, self()},
    receive pong -> ping_loop(Pong, N - 1) end.

pong_loop(Served) ->
    receive
        {ping, From} -> From ! pong, pong_loop(Served + 1);
        {stop, Main} -> Main ! {pong_served, Served}
    end.

%% ---------------------------------------------------------------------------------------------
%% counting: a producer sends N increments to a counter, then asks for the total.
%% Messages: N + 2 (N increments, the request, the reply).

counting(N) ->
    Self = self(),
    Counter = spawn(fun() -> count_loop(0) end),
    spawn(fun() ->
                  T0 = now_ns(),
                  send_incs(Counter, N),
                  Counter ! {get, self()},
                  Total = receive {total, T} -> T end,
                  Self ! {counting_done, Total, seconds_since(T0)}
          end),
    {Total, Seconds} = ?AWAIT({counting_done, T, S}, {T, S}),
    check(Total =:= N, {counter_total, Total, N}),
    {messages, N + 2, Seconds}.

send_incs(_Counter, 0) -> ok;
send_incs(Counter, K) -> Counter ! inc, send_incs(Counter, K - 1).

count_loop(C) ->
    receive
        inc -> count_loop(C + 1);
        {get, From} -> From ! {total, C}
    end.

%% ---------------------------------------------------------------------------------------------
%% threadring: P processes in a ring pass a token N hops. The main process sends the token with
%% value N to the first process; a process that gets {token, K > 1} sends {token, K - 1} to the
%% next, the one that gets {token, 1} tells the main process. Messages: N (every token send).

threadring(P, N) ->
    Self = self(),
    Nodes = [spawn(fun() -> ring_init(Self) end) || _ <- lists:seq(1, P)],
    Nexts = tl(Nodes) ++ [hd(Nodes)],
    [Node ! {next, Next} || {Node, Next} <- lists:zip(Nodes, Nexts)],
    [?AWAIT(ring_linked, ok) || _ <- Nodes],
    T0 = now_ns(),
    hd(Nodes) ! {token, N},
    ?AWAIT(ring_done, ok),
    Seconds = seconds_since(T0),
    [Node ! stop || Node <- Nodes],
    {messages, N, Seconds}.

ring_init(Main) ->
    receive {next, Next} -> Main ! ring_linked, ring_loop(Next, Main) end.

ring_loop(Next, Main) ->
    receive
        {token, 1} -> Main ! ring_done, ring_loop(Next, Main);
        {token, K} -> Next ! {token, K - 1}, ring_loop(Next, Main);
        stop -> ok
    end.

%% ---------------------------------------------------------------------------------------------
%% fjthrput: the main process sends M messages to each of A processes (round robin, one to each
%% in turn); each tells the main process when it has received its M. Messages: A * M.

fjthrput(A, M) ->
    Self = self(),
    Workers = [spawn(fun() -> fj_loop(M, Self) end) || _ <- lists:seq(1, A)],
    T0 = now_ns(),
    fj_send(Workers, M),
    [?AWAIT(fj_done, ok) || _ <- Workers],
    {messages, A * M, seconds_since(T0)}.

fj_send(_Workers, 0) -> ok;
fj_send(Workers, K) -> fj_send_each(Workers), fj_send(Workers, K - 1).

fj_send_each([]) -> ok;
fj_send_each([W | Rest]) -> W ! msg, fj_send_each(Rest).

fj_loop(0, Main) -> Main ! fj_done;
fj_loop(K, Main) -> receive msg -> fj_loop(K - 1, Main) end.

%% ---------------------------------------------------------------------------------------------
%% fjcreate: the main process creates N processes one after another and sends each one message;
%% each answers a collector process and terminates, and the collector tells the main process when
%% all N have answered. Messages: N (the one message each new process gets; the answers only tell
%% that all have run). The answers go to a collector rather than to the main process because a
%% mailbox that grows while its owner keeps working (spawning) is copied at each of the owner's
%% garbage collections: answering the main process made this case 4 to 8 times slower.

fjcreate(N) ->
    Self = self(),
    T0 = now_ns(),
    Collector = spawn(fun() -> fjc_collect(N, Self) end),
    fjc_spawn(Collector, N),
    ?AWAIT(fjc_done, ok),
    {messages, N, seconds_since(T0)}.

fjc_spawn(_Collector, 0) -> ok;
fjc_spawn(Collector, K) ->
    Child = spawn(fun fjc_child/0),
    Child ! {go, Collector},
    fjc_spawn(Collector, K - 1).

fjc_child() -> receive {go, Collector} -> Collector ! fjc_ran end.

fjc_collect(0, Main) -> Main ! fjc_done;
fjc_collect(K, Main) -> receive fjc_ran -> fjc_collect(K - 1, Main) end.

%% ---------------------------------------------------------------------------------------------
%% big: W workers; each sends a ping to a random other worker, waits for its pong, and does that
%% N times, answering the pings of the others all along. A worker that has had its N pongs tells a
%% sink; the sink tells the main process when all W have. Messages: 2 * W * N (pings and pongs).
%% Neighbours are drawn with xorshift32 seeded by the worker's number, the same generator and
%% seeds as the other systems (bench/savina-cases.ts: xorshift32, bigSeed, bigNeighbour).

big(W, N) ->
    check(W >= 2, {big_needs_two_workers, W}),
    Self = self(),
    Sink = spawn(fun() -> big_sink(W, Self) end),
    Workers = list_to_tuple([spawn(fun() -> big_init(I, W, N, Sink, Self) end) || I <- lists:seq(1, W)]),
    [Worker ! {neighbours, Workers} || Worker <- tuple_to_list(Workers)],
    [?AWAIT(big_ready, ok) || _ <- lists:seq(1, W)],
    T0 = now_ns(),
    [Worker ! start || Worker <- tuple_to_list(Workers)],
    ?AWAIT(big_done, ok),
    Seconds = seconds_since(T0),
    [Worker ! {stop, Self} || Worker <- tuple_to_list(Workers)],
    Served = lists:sum([?AWAIT({big_served, S}, S) || _ <- lists:seq(1, W)]),
    check(Served =:= W * N, {pings_served, Served, W * N}),
    {messages, 2 * W * N, Seconds}.

big_sink(0, Main) -> Main ! big_done;
big_sink(K, Main) -> receive big_worker_done -> big_sink(K - 1, Main) end.

big_init(I, W, N, Sink, Main) ->
    receive
        {neighbours, Workers} ->
            Main ! big_ready,
            Seed = (I * 2654435761) band 16#FFFFFFFF,
            big_loop(#{id => I, w => W, workers => Workers, sink => Sink}, N, Seed, 0)
    end.

%% Left: pongs still to wait for; Rng: xorshift32 state; Served: pings answered.
big_loop(S, Left, Rng, Served) ->
    receive
        {ping, From} ->
            From ! pong,
            big_loop(S, Left, Rng, Served + 1);
        start ->
            big_loop(S, Left, big_ping(S, Rng), Served);
        pong when Left =:= 1 ->
            maps:get(sink, S) ! big_worker_done,
            big_loop(S, 0, Rng, Served);
        pong ->
            big_loop(S, Left - 1, big_ping(S, Rng), Served);
        {stop, Main} ->
            Main ! {big_served, Served}
    end.

%% Sends one ping to a random worker other than itself; returns the next generator state.
big_ping(#{id := I, w := W, workers := Workers}, Rng0) ->
    Rng = xorshift32(Rng0),
    J = Rng rem (W - 1) + 1,
    Target = if J >= I -> J + 1; true -> J end,
    element(Target, Workers) ! {ping, self()},
    Rng.

xorshift32(X0) ->
    X1 = X0 bxor ((X0 bsl 13) band 16#FFFFFFFF),
    X2 = X1 bxor (X1 bsr 17),
    X2 bxor ((X2 bsl 5) band 16#FFFFFFFF).

%% ---------------------------------------------------------------------------------------------
%% chameneos (Savina's chameneos-redux): a mall and C chameneos of colours 0, 1, 2 (chameneos I
%% gets I rem 3). Each chameneos asks the mall for a meeting. The mall keeps one waiting; when a
%% second asks, the mall sends the waiting one {meet, Other, OtherColour}; that one takes the
%% complement colour, sends the other {change, Colour}, and both ask the mall again. After N
%% meetings the mall answers every request with exit (C of them); a chameneos that gets exit
%% tells the main process how many meetings it had (their sum must be 2N).
%% Messages: 4N + 2C (C + 2N requests, N meets, N changes, C exits).

chameneos(C, N) ->
    check(C >= 2, {chameneos_needs_two, C}),
    Self = self(),
    T0 = now_ns(),
    Mall = spawn(fun() -> mall_loop(none, N, C) end),
    [spawn(fun() -> chameneo_start(Mall, I rem 3, Self) end) || I <- lists:seq(0, C - 1)],
    Meetings = lists:sum([?AWAIT({chameneo_faded, M}, M) || _ <- lists:seq(1, C)]),
    Seconds = seconds_since(T0),
    check(Meetings =:= 2 * N, {meetings, Meetings, 2 * N}),
    {messages, 4 * N + 2 * C, Seconds}.

%% Waiting: none or {Pid, Colour}; Left: meetings still to arrange; Active: chameneos not yet
%% sent exit.
mall_loop(_Waiting, 0, 0) -> ok;
mall_loop(Waiting, 0, Active) ->
    receive {request, From, _Colour} -> From ! exit, mall_loop(Waiting, 0, Active - 1) end;
mall_loop(none, Left, Active) ->
    receive {request, From, Colour} -> mall_loop({From, Colour}, Left, Active) end;
mall_loop({First, FirstColour}, Left, Active) ->
    receive
        {request, From, Colour} ->
            First ! {meet, From, Colour},
            _ = FirstColour,
            mall_loop(none, Left - 1, Active)
    end.

chameneo_start(Mall, Colour, Main) ->
    Mall ! {request, self(), Colour},
    chameneo_loop(Mall, Colour, Main, 0).

chameneo_loop(Mall, Colour, Main, Meetings) ->
    receive
        {meet, Other, OtherColour} ->
            New = complement(Colour, OtherColour),
            Other ! {change, New},
            Mall ! {request, self(), New},
            chameneo_loop(Mall, New, Main, Meetings + 1);
        {change, New} ->
            Mall ! {request, self(), New},
            chameneo_loop(Mall, New, Main, Meetings + 1);
        exit ->
            Main ! {chameneo_faded, Meetings}
    end.

complement(Same, Same) -> Same;
complement(A, B) -> 3 - A - B.

%% ---------------------------------------------------------------------------------------------
%% spawn: N idle processes (each waits for a message), timed from the first spawn to the last.
%% bytes_per_process: growth of erlang:memory(processes) over the N, less the growth of the main
%% process itself (it keeps the list of pids), divided by N. Afterwards the N are told to stop.

spawn_idle(N) ->
    Limit = erlang:system_info(process_limit),
    check(Limit >= N + erlang:system_info(process_count) + 1000,
          {process_limit_too_low, Limit, N, "start erl with +P"}),
    erlang:garbage_collect(),
    Count0 = erlang:system_info(process_count),
    Mem0 = erlang:memory(processes) - self_memory(),
    T0 = now_ns(),
    Pids = spawn_idle_loop(N, []),
    Seconds = seconds_since(T0),
    Mem1 = erlang:memory(processes) - self_memory(),
    Count1 = erlang:system_info(process_count),
    check(Count1 - Count0 =:= N, {processes_alive, Count1 - Count0, N}),
    [Pid ! stop || Pid <- Pids],
    spawn_idle_wait(Count0, 0),
    {spawn, N, Seconds, (Mem1 - Mem0) / N}.

spawn_idle_loop(0, Pids) -> Pids;
spawn_idle_loop(K, Pids) -> spawn_idle_loop(K - 1, [spawn(fun idle/0) | Pids]).

idle() -> receive stop -> ok end.

self_memory() ->
    {memory, Bytes} = erlang:process_info(self(), memory),
    Bytes.

%% Waits (up to about 10 s) until the stopped processes are gone, so the next case starts clean.
spawn_idle_wait(Count0, Tries) ->
    case erlang:system_info(process_count) =< Count0 orelse Tries >= 1000 of
        true -> ok;
        false -> timer:sleep(10), spawn_idle_wait(Count0, Tries + 1)
    end.
