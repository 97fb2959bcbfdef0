// The tests' PLCs are the demo's simulated PLCs: real node-opcua servers on loopback.
export * from "../../demo/plc.js";
