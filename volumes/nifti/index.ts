export { parseNifti, type NiftiReadOptions, type ParseNiftiOptions } from './parse-nifti.ts';
export { readNifti } from './read-nifti.ts';
export { encodeNifti, quaternionOf, type EncodeNiftiOptions } from './encode-nifti.ts';
export { writeNifti } from './write-nifti.ts';
export { readNiftiHeader, type NiftiHeader } from './nifti-header.ts';
