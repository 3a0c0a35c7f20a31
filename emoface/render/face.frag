#version 330 core
// emoface's fragment shader for pyrender's mesh.vert: wrapped Lambert + Blinn-Phong with vertex colours.
// pyrender's own PBR shader costs about twice as much per pixel on llvmpipe (OSMesa), and a preview
// needs lit, readable shapes, not physically based materials. Skin is not plastic: light wraps past the
// terminator, red most (what subsurface scattering does), so shade falls off softly and warms at its edge.
struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
};
struct Material {
    vec3 emissive_factor;
    vec4 base_color_factor;
    float metallic_factor;
    float roughness_factor;
#ifdef HAS_BASE_COLOR_TEX
    sampler2D base_color_texture;
#endif
};
uniform Material material;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 cam_pos;
uniform vec3 ambient_light;

in vec3 frag_position;
in vec3 frag_normal;
#ifdef COLOR_0_LOC
in vec4 color_multiplier;
#endif
#ifdef TEXCOORD_0_LOC
in vec2 uv_0;
#endif
out vec4 frag_color;

const float PI = 3.141592653589793;
#ifdef MEASURING_LIGHT
// capture's basis and round trip: plain Lambert + Blinn-Phong, the shading the shipped basis was measured under
const vec3 FLESH_WRAP = vec3(0.0);
const float SKY = 0.0;
const float MATTE = 0.0;
#else
// how far past the terminator each channel's light reaches on flesh (cos of the angle, as a share)
const vec3 FLESH_WRAP = vec3(0.45, 0.22, 0.16);
// ambient from above is this much brighter than from below: under the chin and nose is darker
const float SKY = 0.35;
// a roughness near 1 (hair, the mouth's inside) is matte: no highlight, which on dark albedo reads as a helmet
const float MATTE = 1.0;
#endif

void main()
{
    vec3 n = normalize(frag_normal);
    vec3 v = normalize(cam_pos - frag_position);
    if (dot(n, v) < 0.0) {
        n = -n;  // the inside of the mouth is seen from its back
    }
    vec4 base = material.base_color_factor;
    float rough = material.roughness_factor;
#ifdef COLOR_0_LOC
    base *= color_multiplier;
#endif
#ifdef HAS_BASE_COLOR_TEX
#ifdef TEXCOORD_0_LOC
    // emoface's texture: RGB the albedo (sRGB, as the vertex colours), A the roughness, so the hair's matte edge
    // follows the drawn hairline, not the triangles
    vec4 texel = texture(material.base_color_texture, uv_0);
    base.rgb *= texel.rgb;
    rough *= texel.a;
#endif
#endif
    vec3 albedo = pow(base.rgb, vec3(2.2));
    rough = clamp(rough, 0.05, 1.0);
    // flesh is the mid-rough materials (skin, lips, tongue): not glossy eyes and teeth, not matte hair
    float flesh = smoothstep(0.3, 0.45, rough) * (1.0 - smoothstep(0.8, 0.95, rough));
    vec3 wrap = flesh * FLESH_WRAP;
    float shininess = 2.0 / (rough * rough * rough * rough) - 2.0 + 4.0;
    float spec_scale = 0.04 * (shininess + 8.0) / (8.0 * PI) * (1.0 - MATTE * smoothstep(0.7, 1.0, rough));
    vec3 color = albedo * ambient_light * (1.0 + SKY * n.y);
    for (int i = 0; i < n_directional_lights; i++) {
        vec3 l = normalize(-directional_lights[i].direction);
        vec3 radiance = directional_lights[i].color * directional_lights[i].intensity;
        float nl = dot(n, l);
        vec3 diffuse = max((vec3(nl) + wrap) / (1.0 + wrap), 0.0);
        vec3 h = normalize(l + v);
        float spec = spec_scale * pow(max(dot(n, h), 0.0), shininess) * max(nl, 0.0);
        color += radiance * (diffuse * albedo / PI + vec3(spec));
    }
    frag_color = vec4(pow(clamp(color, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
