/**
 * The protobuf form of a Pid, for schemas of registered message types that carry addresses.
 *
 * Every .proto text given to `registerMessageType` is parsed into a root that already holds this
 * schema, so a field can be declared `horde.Pid owner = 1;` (an `import "horde/pid.proto";` line
 * is accepted and ignored). A schema built elsewhere as a protobufjs Root can add it with
 * `protobuf.parse(PID_PROTO, root)`. Decoded, a horde.Pid is the plain `{node, shard, serial}` that
 * `isPid` accepts: node and shard are u16 in uint32 fields, serial a safe integer in a double (a
 * uint64 would decode through Long or lose the "safe integer" check).
 */

/** The import path schemas may name for this file. */
export const PID_PROTO_PATH = 'horde/pid.proto';

/**
 * The .proto text of `horde.Pid` (`uint32 node`, `uint32 shard`, `double serial`), already part of
 * every schema given to `registerMessageType` as text; parse it into a protobufjs Root of your own.
 */
export const PID_PROTO = `syntax = "proto3";
package horde;

message Pid {
  uint32 node = 1;
  uint32 shard = 2;
  double serial = 3;
}
`;
