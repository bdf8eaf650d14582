import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'What one request may ask of this server.' })
export class ServiceLimits {
  @Field(() => Int) maxImageBytes!: number;
  @Field(() => Int, { description: 'The largest width x height of an image, and of each frame of an animation.' })
  maxImagePixels!: number;
  @Field(() => Int, { description: 'The most frames of an animation (GIF, WebP) or a video (MP4, WebM).' })
  maxFrames!: number;
  @Field(() => Int, { description: 'The largest width x height x frames of an animation or a video.' })
  maxTotalPixels!: number;
  @Field(() => Int, { description: 'The longest animation or video, in milliseconds: the sum of its frame delays.' })
  maxDurationMs!: number;
  @Field(() => Int) maxDim!: number;
  @Field(() => Int, { description: 'The largest epochs x stepsPerEpoch of a run.' })
  maxTotalSteps!: number;
  @Field(() => Int, { description: 'The most style images one run may blend.' })
  maxStyleImages!: number;
}

@ObjectType({ description: 'The largest images a backend can optimise on this server: its memory, not a setting.' })
export class BackendCapacity {
  @Field({ description: '"wasm", "tensorflow" or "cpu".' })
  backend!: string;

  @Field(() => Int, {
    nullable: true,
    description: 'The largest maxDim of a square image (one style image as large, styleScale 1) that fits its memory; '
      + 'null where its memory is not limited so (native TensorFlow, plain JavaScript). startRun and estimateRun answer for given images.',
  })
  largestSquareMaxDim!: number | null;

  @Field(() => Float, { nullable: true, description: 'Its memory limit in bytes (4 GiB of WebAssembly memory); null where none applies.' })
  memoryLimitBytes!: number | null;
}

@ObjectType()
export class ServiceInfo {
  @Field({ description: 'The stylegraph version.' })
  version!: string;

  @Field(() => String, { nullable: true, description: 'The TensorFlow.js backend of the most recently started run; null before the first.' })
  backend!: string | null;

  @Field(() => String, { nullable: true, description: 'What computed the most recently started run, in words.' })
  device!: string | null;

  @Field(() => String, { nullable: true, description: 'The VGG19 weights workers load (format and path); null when none are found.' })
  weights!: string | null;

  @Field(() => Int, { description: 'Runs waiting for a worker.' })
  queueLength!: number;

  @Field(() => Int, { description: 'Runs being optimised now.' })
  runningCount!: number;

  @Field(() => ServiceLimits)
  limits!: ServiceLimits;

  @Field(() => [String], {
    description: 'The MIME types uploadImage and createImage accept: PNG, JPEG, WebP and GIF images, and MP4 and WebM videos where '
      + 'this server has ffmpeg.',
  })
  acceptedTypes!: string[];

  @Field(() => Int, { nullable: true, description: 'Threads the engine of the most recently started run computes with on the CPU; null where libtensorflow chooses, or before any engine started.' })
  threads!: number | null;

  @Field(() => [BackendCapacity], { description: 'Per backend, the largest images it can optimise here.' })
  capacity!: BackendCapacity[];
}
