/** Appends nodes and their parameters to a NetworkSpec under construction (used by the describe* functions). */
import type { NetworkSpec, NodeSpec, ParamSpec, SpatialDims } from './spec.ts';

export const WEIGHT_INIT = { kind: 'normal', mean: 0, std: 0.02 } as const;

export class SpecBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly params: ParamSpec[] = [];
  private readonly used = new Set<string>(['input']);

  constructor(readonly spatialDims: SpatialDims) {}

  private add(node: NodeSpec): string {
    if (this.used.has(node.name)) throw new Error(`duplicate node name ${node.name}`);
    this.used.add(node.name);
    this.nodes.push(node);
    return node.name;
  }

  conv(name: string, input: string, inChannels: number, outChannels: number, kernel: number, stride: number, padding: number, bias = true): string {
    const k = Array<number>(this.spatialDims).fill(kernel);
    this.params.push({ name: `${name}.weight`, shape: [...k, inChannels, outChannels], init: WEIGHT_INIT });
    if (bias) this.params.push({ name: `${name}.bias`, shape: [outChannels], init: { kind: 'zeros' } });
    return this.add({ name, op: 'conv', inputs: [input], inChannels, outChannels, kernel, stride, padding, bias });
  }

  convTranspose(
    name: string,
    input: string,
    inChannels: number,
    outChannels: number,
    kernel: number,
    stride: number,
    padding: number,
    outputPadding: number,
    bias = true,
  ): string {
    const k = Array<number>(this.spatialDims).fill(kernel);
    this.params.push({ name: `${name}.weight`, shape: [...k, outChannels, inChannels], init: WEIGHT_INIT });
    if (bias) this.params.push({ name: `${name}.bias`, shape: [outChannels], init: { kind: 'zeros' } });
    return this.add({ name, op: 'convTranspose', inputs: [input], inChannels, outChannels, kernel, stride, padding, outputPadding, bias });
  }

  reflectPad(name: string, input: string, pad: number): string {
    return this.add({ name, op: 'reflectPad', inputs: [input], pad });
  }

  instanceNorm(name: string, input: string, channels: number, epsilon = 1e-5): string {
    return this.add({ name, op: 'instanceNorm', inputs: [input], channels, epsilon, affine: false });
  }

  relu(name: string, input: string): string {
    return this.add({ name, op: 'relu', inputs: [input] });
  }

  tanh(name: string, input: string): string {
    return this.add({ name, op: 'tanh', inputs: [input] });
  }

  leakyRelu(name: string, input: string, alpha = 0.2): string {
    return this.add({ name, op: 'leakyRelu', inputs: [input], alpha });
  }

  dropout(name: string, input: string, rate: number): string {
    return this.add({ name, op: 'dropout', inputs: [input], rate });
  }

  add2(name: string, a: string, b: string): string {
    return this.add({ name, op: 'add', inputs: [a, b] });
  }

  concat(name: string, inputs: string[]): string {
    return this.add({ name, op: 'concat', inputs });
  }

  finish(fields: Omit<NetworkSpec, 'format' | 'spatialDims' | 'nodes' | 'params'>): NetworkSpec {
    return { format: 'voxshift-network/1', spatialDims: this.spatialDims, ...fields, nodes: this.nodes, params: this.params };
  }
}
