#!/usr/bin/env escript
%% bench/peers/ejabberd_accounts.escript -- talk to a running ejabberd node
%% over Erlang distribution (one connection, no epmd) to wait for it, create
%% accounts in bulk, or count them.  `ejabberdctl register` boots a fresh VM
%% per user (about a second each); this does all of them in one go.  The
%% SCRAM-SHA-1 keys are derived here with crypto:pbkdf2_hmac (C code) and
%% handed over as the #scram{} record ejabberd itself would store: ejabberd
%% 23.01 derives them in an Erlang loop (~5 ms per user), which made 10000
%% registrations take about a minute.
%%
%% Distribution flags come from ERL_FLAGS (set by bench/peers/ejabberd.sh):
%%   -sname NAME@localhost -hidden -dist_listen false -start_epmd false
%%   -erl_epmd_port DIST_PORT        (cookie: $HOME/.erlang.cookie)
%%
%% Usage:
%%   ejabberd_accounts.escript NODE wait SECONDS
%%   ejabberd_accounts.escript NODE register DOMAIN PREFIX COUNT PASSWORD
%%   ejabberd_accounts.escript NODE count DOMAIN
-mode(compile).

main([Node, "wait", Secs]) ->
    wait_started(list_to_atom(Node), erlang:monotonic_time(millisecond) + 1000 * list_to_integer(Secs));
main([Node, "register", Domain, Prefix, Count, Password]) ->
    register_all(list_to_atom(Node), list_to_binary(Domain), Prefix,
                 list_to_integer(Count), list_to_binary(Password));
main([Node, "count", Domain]) ->
    case rpc:call(list_to_atom(Node), ejabberd_auth, count_users, [list_to_binary(Domain)], 60000) of
        N when is_integer(N) -> io:format("~b~n", [N]);
        Other -> fail("count_users failed: ~p", [Other])
    end;
main(_) ->
    fail("usage: NODE wait SECONDS | NODE register DOMAIN PREFIX COUNT PASSWORD | NODE count DOMAIN", []).

%% The node counts as started once the ejabberd application has finished
%% starting (the same test `ejabberdctl status` uses).
wait_started(Node, Deadline) ->
    Up = net_adm:ping(Node) =:= pong andalso
         case rpc:call(Node, application, which_applications, [], 5000) of
             Apps when is_list(Apps) -> lists:keymember(ejabberd, 1, Apps);
             _ -> false
         end,
    case Up of
        true -> ok;
        false ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> fail("node ~p did not come up", [Node]);
                false -> timer:sleep(200), wait_started(Node, Deadline)
            end
    end.

%% Several workers, each deriving keys and making sequential rpc calls over
%% the same connection; the node runs the calls concurrently (one mnesia
%% transaction per user).
register_all(Node, Domain, Prefix, Count, Password) ->
    Workers = 8,
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {self(), register_slice(Node, Domain, Prefix, Password, W, Workers, Count)} end)
            || W <- lists:seq(1, Workers)],
    Bad = lists:append([receive {P, Errs} -> Errs end || P <- Pids]),
    case Bad of
        [] -> io:format(standard_error, "registered ~b users on ~s~n", [Count, Domain]);
        _ -> fail("~b registrations failed, e.g. ~p", [length(Bad), lists:sublist(Bad, 3)])
    end.

register_slice(Node, Domain, Prefix, Password, W, Step, Count) ->
    lists:foldl(
      fun(I, Errs) ->
              User = list_to_binary(Prefix ++ integer_to_list(I)),
              case rpc:call(Node, ejabberd_auth, try_register, [User, Domain, scram(Password)], 60000) of
                  ok -> Errs;
                  {error, exists} -> Errs;
                  Err -> [{User, Err} | Errs]
              end
      end, [], lists:seq(W, Count, Step)).

%% Same content as ejabberd_auth:password_to_scram/2 with its default
%% 4096 iterations: #scram{storedkey, serverkey, salt, hash, iterationcount},
%% keys and salt base64-encoded.  (Passwords are printable ASCII, which
%% resourceprep leaves unchanged.)
scram(Password) ->
    Iterations = 4096,
    Salt = crypto:strong_rand_bytes(16),
    Salted = crypto:pbkdf2_hmac(sha, Password, Salt, Iterations, 20),
    ClientKey = crypto:mac(hmac, sha, Salted, <<"Client Key">>),
    ServerKey = crypto:mac(hmac, sha, Salted, <<"Server Key">>),
    {scram, base64:encode(crypto:hash(sha, ClientKey)), base64:encode(ServerKey),
     base64:encode(Salt), sha, Iterations}.

fail(Fmt, Args) ->
    io:format(standard_error, "ejabberd_accounts: " ++ Fmt ++ "~n", Args),
    halt(1).
