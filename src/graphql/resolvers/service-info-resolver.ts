import { Ctx, Query, Resolver } from 'type-graphql';
import type { ApiContext } from '../context.js';
import { ServiceInfo } from '../types/service-info.js';

@Resolver()
export class ServiceInfoResolver {
  @Query(() => ServiceInfo)
  serviceInfo(@Ctx() ctx: ApiContext): Promise<ServiceInfo> {
    return ctx.status.info();
  }
}
