import { readFile } from 'node:fs/promises';
import { ParamError, WeightsNotFoundError, listFastStylePresets, locateFastStyleModels, probeImage, type FastStylePreset } from '../engine/index.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { storeImage, type ImageInfo, type NamedImage } from '../storage/images.js';

/** A fast-style network a run can use (mode FAST or FAST_THEN_OPTIMIZE). */
export interface PresetInfo {
  /** Its folder's name, what runs name it by (`preset`). */
  name: string;
  title: string;
  artist: string | null;
  /** The painting it was trained on, stored (so it has an id and a URL); null when its folder has none. */
  painting: NamedImage | null;
}

/** The networks of the shared models folder (shared/models/README.md) by folder name; others are titled from their name. */
const KNOWN: Readonly<Record<string, { title: string; artist: string }>> = {
  la_muse: { title: 'La Muse', artist: 'Pablo Picasso' },
  rain_princess: { title: 'Rain Princess', artist: 'Leonid Afremov' },
  scream: { title: 'The Scream', artist: 'Edvard Munch' },
  udnie: { title: 'Udnie (Young American Girl, The Dance)', artist: 'Francis Picabia' },
  wave: { title: 'The Great Wave off Kanagawa', artist: 'Katsushika Hokusai' },
  wreck: { title: 'The Shipwreck of the Minotaur', artist: 'J. M. W. Turner' },
};

/** "rain_princess" -> "Rain Princess". */
export function titleFromName(name: string): string {
  return name.split(/[_\-.\s]+/).filter(Boolean).map((word) => word[0].toUpperCase() + word.slice(1)).join(' ') || name;
}


/**
 * The fast-style networks this server offers: the sub-folders of the models
 * folder the workers load them from (STYLEGRAPH_FAST_STYLE_MODELS, else the
 * cache; looked up on each call, as workers do when they load one). A
 * network's painting is stored as an image when it is first asked for;
 * images being content-addressed, it is the same image every time.
 */
export class PresetCatalog {
  /** Painting files read and probed, by path (their bytes are small: tens to hundreds of KB). */
  private readonly paintings = new Map<string, Promise<{ bytes: Uint8Array; info: ImageInfo } | null>>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** The models folder, or why there is none. */
  folder(): { path: string } | { missing: string } {
    try {
      return { path: locateFastStyleModels(this.env) };
    } catch (err) {
      if (err instanceof WeightsNotFoundError) return { missing: err.message };
      throw err;
    }
  }

  /** Every network, by name, with its painting stored. None when there is no models folder. */
  async list(db: PrismaClient): Promise<PresetInfo[]> {
    const folder = this.folder();
    if (!('path' in folder)) return [];
    const presets = await listFastStylePresets(folder.path);
    return Promise.all(presets.map((preset) => this.describe(db, preset)));
  }

  /**
   * The network `name` with its painting stored; a ParamError naming `field`
   * when there is no such network (or no models folder at all).
   */
  async get(db: PrismaClient, name: string, field = 'preset'): Promise<PresetInfo> {
    const folder = this.folder();
    if (!('path' in folder)) throw new ParamError(field, `this server has no fast-style networks (${folder.missing})`);
    const presets = await listFastStylePresets(folder.path);
    const preset = presets.find((p) => p.name === name);
    if (!preset) {
      const known = presets.map((p) => p.name).join(', ') || 'none';
      throw new ParamError(field, `no fast-style network is named "${name}" (this server has: ${known})`);
    }
    return this.describe(db, preset);
  }

  private async describe(db: PrismaClient, preset: FastStylePreset): Promise<PresetInfo> {
    const known = KNOWN[preset.name];
    const title = known?.title ?? titleFromName(preset.name);
    const painting = await this.readPainting(preset.stylePath);
    return {
      name: preset.name,
      title,
      artist: known?.artist ?? null,
      // Stored every time (a no-op once stored): deleting the last run that used it deletes it too.
      // Nobody uploaded it (and every folder's file is style.jpg): the preset's title names it, not a file name.
      painting: painting && { ...await storeImage(db, painting.bytes, painting.info), fileName: null },
    };
  }

  private readPainting(path: string): Promise<{ bytes: Uint8Array; info: ImageInfo } | null> {
    let painting = this.paintings.get(path);
    if (!painting) {
      painting = readFile(path).then(
        async (bytes) => {
          const { mimeType, width, height } = await probeImage(bytes);
          return { bytes: new Uint8Array(bytes), info: { mimeType, width, height } };
        },
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return null;
          throw err;
        },
      );
      this.paintings.set(path, painting);
      // Not kept when missing or failing: the folder may be mended.
      painting.then((found) => { if (!found) this.paintings.delete(path); }, () => this.paintings.delete(path));
    }
    return painting;
  }
}
