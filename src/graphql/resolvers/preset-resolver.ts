import { Ctx, Query, Resolver } from 'type-graphql';
import type { PresetInfo } from '../../runs/presets.js';
import type { ApiContext } from '../context.js';
import { Preset } from '../types/preset.js';

@Resolver(() => Preset)
export class PresetResolver {
  @Query(() => [Preset], { description: 'The fast-style networks this server has, by name; empty when it has none.' })
  presets(@Ctx() ctx: ApiContext): Promise<PresetInfo[]> {
    return ctx.runService.listPresets();
  }
}
