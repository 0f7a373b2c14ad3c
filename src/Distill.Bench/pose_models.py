"""Plain-PyTorch twins of Distill's pose models, for `distill bench --suite models`.

Each module runs the same libtorch ops in the same order as its C# counterpart in src/Distill.Pose/Models (so timings
compare the frameworks, not two different graphs) and registers its tensors under the same state-dict names (so
Distill's weights load here for the parity check). Written from the published architecture descriptions:
CSPNeXt arch P5 with deepen/widen factors, channel attention and SPP; RTMPose's SimCC head with ScaleNorm and a
gated attention unit; a ViT in mmpretrain's layout (padded 16x16 patches, no cls token, pre-norm, exact GELU,
LayerNorm eps 1e-6) with the classic two-deconv heatmap head.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# --- CSPNeXt -------------------------------------------------------------------------------------------------------

class ConvModule(nn.Module):
    """Conv (no bias) + BN + activation. Names: conv.*, bn.*."""

    def __init__(self, cin, cout, k, stride=1, padding=None, groups=1, act="silu"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2 if padding is None else padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        y = self.bn(self.conv(x))
        if self.act is None:
            return y
        # As the C# module: in place when autograd is off, out of place when SiLU's backward needs its input.
        inplace = not torch.is_grad_enabled()
        return F.silu(y, inplace=inplace) if self.act == "silu" else F.relu(y, inplace=inplace)


class DepthwiseSeparableConvModule(nn.Module):
    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.depthwise_conv = ConvModule(cin, cin, k, stride, k // 2, groups=cin)
        self.pointwise_conv = ConvModule(cin, cout, 1, 1, 0)

    def forward(self, x):
        return self.pointwise_conv(self.depthwise_conv(x))


class CSPNeXtBlock(nn.Module):
    def __init__(self, cin, cout, add_identity, k=5):
        super().__init__()
        self.conv1 = ConvModule(cin, cout, 3, 1, 1)
        self.conv2 = DepthwiseSeparableConvModule(cout, cout, k)
        self.add_identity = add_identity and cin == cout

    def forward(self, x):
        b = self.conv2(self.conv1(x))
        return b.add_(x) if self.add_identity else b


class ChannelAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc = nn.Conv2d(c, c, 1, bias=True)

    def forward(self, x):
        return x * F.hardsigmoid(self.fc(x.mean([2, 3], keepdim=True)))


class CSPLayer(nn.Module):
    def __init__(self, cin, cout, n, add_identity, channel_attention, expand_ratio=0.5):
        super().__init__()
        mid = int(cout * expand_ratio)
        self.main_conv = ConvModule(cin, mid, 1)
        self.short_conv = ConvModule(cin, mid, 1)
        self.final_conv = ConvModule(2 * mid, cout, 1)
        self.blocks = nn.Sequential(*[CSPNeXtBlock(mid, mid, add_identity) for _ in range(n)])
        self.attention = ChannelAttention(2 * mid) if channel_attention else None

    def forward(self, x):
        s = self.short_conv(x)
        m = self.blocks(self.main_conv(x))
        cat = torch.cat([m, s], 1)
        if self.attention is not None:
            cat = self.attention(cat)
        return self.final_conv(cat)


class SPPBottleneck(nn.Module):
    kernels = (5, 9, 13)

    def __init__(self, cin, cout):
        super().__init__()
        mid = cin // 2
        self.conv1 = ConvModule(cin, mid, 1)
        self.conv2 = ConvModule(mid * (len(self.kernels) + 1), cout, 1)

    def forward(self, x):
        a = self.conv1(x)
        parts = [a] + [F.max_pool2d(a, k, 1, k // 2) for k in self.kernels]
        return self.conv2(torch.cat(parts, 1))


class CSPNeXt(nn.Module):
    # (in, out, blocks, add_identity, use_spp) of arch P5 before scaling
    P5 = ((64, 128, 3, True, False), (128, 256, 6, True, False), (256, 512, 6, True, False), (512, 1024, 3, False, True))

    def __init__(self, deepen, widen, channel_attention=True):
        super().__init__()
        stem_out = int(self.P5[0][0] * widen)
        stem_mid = int(self.P5[0][0] * widen / 2)
        self.stem = nn.Sequential(ConvModule(3, stem_mid, 3, 2, 1), ConvModule(stem_mid, stem_mid, 3, 1, 1),
                                  ConvModule(stem_mid, stem_out, 3, 1, 1))
        self.num_stages = len(self.P5)
        for i, (cin, cout, n, add_identity, use_spp) in enumerate(self.P5):
            cin, cout = int(cin * widen), int(cout * widen)
            n = max(round(n * deepen), 1)
            layers = [ConvModule(cin, cout, 3, 2, 1)]
            if use_spp:
                layers.append(SPPBottleneck(cout, cout))
            layers.append(CSPLayer(cout, cout, n, add_identity, channel_attention))
            self.add_module(f"stage{i + 1}", nn.Sequential(*layers))
        self.out_channels = cout

    def forward(self, x):
        x = self.stem(x)
        for i in range(self.num_stages):
            x = getattr(self, f"stage{i + 1}")(x)
        return x


# --- RTMCC head -----------------------------------------------------------------------------------------------------

class ScaleNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.scale = dim ** -0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x):
        n = torch.norm(x, 2, [-1], keepdim=True)
        # Out of place, as the C# ScaleNorm: the norm's backward reads its output.
        return x / torch.clamp(n * self.scale, min=self.eps) * self.g


class ChannelScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.scale


class RTMCCBlock(nn.Module):
    """Gated attention unit (self-attention form, SiLU, no relative position bias)."""

    def __init__(self, dims, s=128, expansion=2, eps=1e-5):
        super().__init__()
        self.e = int(dims * expansion)
        self.s = s
        self.gamma = nn.Parameter(torch.rand(2, s))
        self.beta = nn.Parameter(torch.rand(2, s))
        self.o = nn.Linear(self.e, dims, bias=False)
        self.uv = nn.Linear(dims, 2 * self.e + s, bias=False)
        nn.init.xavier_uniform_(self.uv.weight)
        self.ln = ScaleNorm(dims, eps)
        self.res_scale = ChannelScale(dims)

    def forward(self, x):
        uv = F.silu(self.uv(self.ln(x)))
        u, v, base = torch.split(uv, [self.e, self.e, self.s], 2)
        qk = base.unsqueeze(2) * self.gamma + self.beta
        q, k = qk.select(2, 0), qk.select(2, 1)
        kernel = torch.bmm(q, k.transpose(1, 2)).div_(math.sqrt(self.s)).relu().square()
        out = self.o(u * torch.bmm(kernel, v))
        return self.res_scale(x) + out


class RTMCCHead(nn.Module):
    def __init__(self, cin, k, input_size=(192, 256), feat_size=(6, 8), split_ratio=2.0, final_kernel=7, hidden=256):
        super().__init__()
        self.final_layer = nn.Conv2d(cin, k, final_kernel, 1, final_kernel // 2)
        flat = feat_size[0] * feat_size[1]
        self.mlp = nn.Sequential(ScaleNorm(flat), nn.Linear(flat, hidden, bias=False))
        self.gau = RTMCCBlock(hidden)
        self.cls_x = nn.Linear(hidden, int(input_size[0] * split_ratio), bias=False)
        self.cls_y = nn.Linear(hidden, int(input_size[1] * split_ratio), bias=False)

    def forward(self, feat):
        t = self.gau(self.mlp(self.final_layer(feat).flatten(2)))
        return self.cls_x(t), self.cls_y(t)


# --- ViT + heatmap head ---------------------------------------------------------------------------------------------

class MultiheadAttention(nn.Module):
    def __init__(self, dims, heads):
        super().__init__()
        self.dims, self.heads = dims, heads
        self.scale = (dims // heads) ** -0.5
        self.qkv = nn.Linear(dims, dims * 3)
        self.proj = nn.Linear(dims, dims)

    def forward(self, x):
        b, n = x.shape[0], x.shape[1]
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.dims // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)
        attn = torch.softmax(q.matmul(k.transpose(-2, -1)).mul_(self.scale), -1)
        return self.proj(attn.matmul(v).transpose(1, 2).reshape(b, n, self.dims))


class FFN(nn.Module):
    def __init__(self, dims, hidden):
        super().__init__()
        self.layers = nn.Sequential(nn.Sequential(nn.Linear(dims, hidden), nn.GELU()), nn.Linear(hidden, dims))

    def forward(self, x):
        return self.layers(x)


class TransformerEncoderLayer(nn.Module):
    def __init__(self, dims, heads, ffn, eps):
        super().__init__()
        self.ln1 = nn.LayerNorm(dims, eps=eps)
        self.attn = MultiheadAttention(dims, heads)
        self.ln2 = nn.LayerNorm(dims, eps=eps)
        self.ffn = FFN(dims, ffn)

    def forward(self, x):
        a = x + self.attn(self.ln1(x))
        return a + self.ffn(self.ln2(a))


class PatchEmbed(nn.Module):
    def __init__(self, dims, patch, padding):
        super().__init__()
        self.projection = nn.Conv2d(3, dims, patch, patch, padding)


class VisionTransformer(nn.Module):
    def __init__(self, dims, layers, heads, ffn, img_size=(192, 256), patch=16, padding=2, eps=1e-6):
        super().__init__()
        self.dims = dims
        gh = (img_size[1] + 2 * padding - patch) // patch + 1
        gw = (img_size[0] + 2 * padding - patch) // patch + 1
        self.pos_embed = nn.Parameter(torch.zeros(1, gh * gw, dims))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.patch_embed = PatchEmbed(dims, patch, padding)
        self.layers = nn.ModuleList([TransformerEncoderLayer(dims, heads, ffn, eps) for _ in range(layers)])
        self.ln1 = nn.LayerNorm(dims, eps=eps)

    def forward(self, x):
        p = self.patch_embed.projection(x)
        b, gh, gw = p.shape[0], p.shape[2], p.shape[3]
        h = p.flatten(2).transpose(1, 2) + self.pos_embed
        for layer in self.layers:
            h = layer(h)
        return self.ln1(h).transpose(1, 2).reshape(b, self.dims, gh, gw).contiguous()


class HeatmapHead(nn.Module):
    def __init__(self, cin, k, deconv=(256, 256)):
        super().__init__()
        layers = []
        for c in deconv:
            layers += [nn.ConvTranspose2d(cin, c, 4, 2, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            cin = c
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(cin, k, 1, 1, 0)

    def forward(self, feat):
        return (self.final_layer(self.deconv_layers(feat)),)


# --- whole models ---------------------------------------------------------------------------------------------------

class TopdownPoseEstimator(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x):
        return self.head(self.backbone(x))


def build(name, keypoints=17, input_size=(192, 256)):
    """RTMPose-t / RTMPose-m (SimCC; 17 keypoints at 256x192 unless told) or ViTPose-S (classic decoder).

    input_size is (width, height); the RTMPose head's flattened map is the stride-32 grid of that input.
    """
    if name in ("rtmpose-t", "rtmpose-m"):
        deepen, widen = (0.167, 0.375) if name == "rtmpose-t" else (0.67, 0.75)
        backbone = CSPNeXt(deepen, widen)
        w, h = input_size
        head = RTMCCHead(backbone.out_channels, keypoints, input_size, ((w + 31) // 32, (h + 31) // 32))
        return TopdownPoseEstimator(backbone, head)
    if name == "vitpose-s":
        return TopdownPoseEstimator(VisionTransformer(384, 12, 12, 1536), HeatmapHead(384, 17))
    raise ValueError(f"unknown model {name}")
