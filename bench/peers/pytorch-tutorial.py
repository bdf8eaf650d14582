"""The TensorFlow tutorial's style transfer written in PyTorch, on the same VGG19
weights (the tfjs layers model's uint8 shards, dequantised) and images, for
`npm run bench -- --only peers`: the tool a user would pick instead, timed on
the same machine in the same run. Prints one JSON object.

  --time-steps N        the median time of N Adam steps (after two)
  --steps N             N steps of --optimizer, reporting the final loss
  --target L            with lbfgs: evaluations and seconds until the loss of the clipped image is at most L
"""
import argparse, json, os, time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument('--vgg', required=True)
parser.add_argument('--content', required=True)
parser.add_argument('--style', required=True)
parser.add_argument('--max-dim', type=int, default=256)
parser.add_argument('--threads', type=int, default=os.cpu_count())
parser.add_argument('--optimizer', choices=['adam', 'lbfgs'], default='adam')
parser.add_argument('--steps', type=int, default=300)
parser.add_argument('--time-steps', type=int, default=0)
parser.add_argument('--target', type=float)
parser.add_argument('--project-every', type=int, default=10, help='L-BFGS: clamp the image to [0, 1] after every N evaluations (the shared notes\' measurement)')
args = parser.parse_args()
torch.set_num_threads(args.threads)

LAYERS = ['block1_conv1', 'block1_conv2', 'block2_conv1', 'block2_conv2', 'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_conv4',
          'block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_conv4', 'block5_conv1', 'block5_conv2']
STYLE = ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1']
CONTENT = ['block5_conv2']


def load_vgg(folder):
    model = json.load(open(os.path.join(folder, 'model.json')))
    manifest = model['weightsManifest'][0]
    data = b''.join(open(os.path.join(folder, path), 'rb').read() for path in manifest['paths'])
    weights, offset = {}, 0
    for spec in manifest['weights']:
        count = int(np.prod(spec['shape']))
        q = spec['quantization']
        values = np.frombuffer(data, np.uint8, count, offset).astype(np.float32) * q['scale'] + q['min']
        offset += count
        weights[spec['name']] = values.reshape(spec['shape'])
    return {name: (torch.tensor(weights[name + '/kernel']).permute(3, 2, 0, 1).contiguous(), torch.tensor(weights[name + '/bias']))
            for name in LAYERS}


CONV = load_vgg(args.vgg)
MEAN = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)


def features(x):
    x = x.flip(1) * 255 - MEAN  # RGB 0..1 -> BGR 0..255 minus the means, as Keras
    out = {}
    for name in LAYERS:
        if name.endswith('_conv1') and name != 'block1_conv1':
            x = F.max_pool2d(x, 2)
        kernel, bias = CONV[name]
        x = F.relu(F.conv2d(x, kernel, bias, padding=1))
        out[name] = x
    return out


def gram(f):
    _, c, h, w = f.shape
    m = f.view(c, h * w)
    return m @ m.t() / (h * w)


def load(path, max_dim):
    image = Image.open(path).convert('RGB')
    scale = max_dim / max(image.size)
    image = image.resize((round(image.size[0] * scale), round(image.size[1] * scale)), Image.BILINEAR)
    return torch.tensor(np.asarray(image, np.float32) / 255).permute(2, 0, 1).unsqueeze(0)


content = load(args.content, args.max_dim)
style = load(args.style, args.max_dim)
with torch.no_grad():
    content_targets = {n: features(content)[n] for n in CONTENT}
    style_targets = {n: gram(features(style)[n]) for n in STYLE}


def loss_of(x):
    f = features(x)
    style_loss = sum(((gram(f[n]) - style_targets[n]) ** 2).mean() for n in STYLE) * 1e-2 / len(STYLE)
    content_loss = sum(((f[n] - content_targets[n]) ** 2).mean() for n in CONTENT) * 1e4 / len(CONTENT)
    tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
    return style_loss + content_loss + 30 * tv


# Contiguous: torch.optim.LBFGS flattens the gradient with view(), which a permuted image's layout refuses.
x = content.clone(memory_format=torch.contiguous_format).requires_grad_(True)
result = {'peer': 'pytorch ' + torch.__version__, 'threads': torch.get_num_threads(), 'optimizer': args.optimizer,
          'size': f'{content.shape[3]}x{content.shape[2]}'}
if args.optimizer == 'adam':
    # torch's own Adam with the tutorial's settings, as a user would write it.
    optimizer = torch.optim.Adam([x], lr=0.02, betas=(0.99, 0.999), eps=1e-1)
    steps = 2 + args.time_steps if args.time_steps else args.steps
    times = []
    for step in range(steps):
        started = time.perf_counter()
        optimizer.zero_grad()
        loss_of(x).backward()
        optimizer.step()
        with torch.no_grad():
            x.clamp_(0, 1)
        times.append(time.perf_counter() - started)
    if args.time_steps:
        result['stepMs'] = sorted(times[2:])[len(times[2:]) // 2] * 1000
    else:
        with torch.no_grad():
            result.update(steps=args.steps, seconds=sum(times), finalLoss=loss_of(x).item())
else:
    # torch.optim.LBFGS as neural-style-pt runs it; measuring the clipped image's loss is not counted in the time.
    optimizer = torch.optim.LBFGS([x], lr=1, max_iter=args.steps, history_size=100, tolerance_grad=-1, tolerance_change=-1)
    state = {'evaluations': 0, 'measuring': 0.0, 'reached': None}
    started = time.perf_counter()

    class Reached(Exception):
        """The target is reached: the evaluations after it would only take time."""

    def closure():
        optimizer.zero_grad()
        loss = loss_of(x)
        loss.backward()
        state['evaluations'] += 1
        if args.project_every and state['evaluations'] % args.project_every == 0:
            with torch.no_grad():
                x.clamp_(0, 1)
        measured = time.perf_counter()
        with torch.no_grad():
            clipped = loss_of(x.clamp(0, 1)).item()
        state['measuring'] += time.perf_counter() - measured
        if args.target is not None and clipped <= args.target and state['reached'] is None:
            state['reached'] = {'evaluations': state['evaluations'], 'seconds': time.perf_counter() - started - state['measuring']}
            raise Reached()
        return loss

    try:
        optimizer.step(closure)
    except Reached:
        pass
    with torch.no_grad():
        result.update(steps=state['evaluations'], seconds=time.perf_counter() - started - state['measuring'],
                      finalLoss=loss_of(x.clamp(0, 1)).item(), reached=state['reached'])
print(json.dumps(result))
