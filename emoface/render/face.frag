#version 330 core
// emoface's fragment shader for pyrender's mesh.vert: wrapped Lambert + Blinn-Phong with vertex colours.
// pyrender's own PBR shader costs about twice as much per pixel on llvmpipe (OSMesa), and a preview
// needs lit, readable shapes, not physically based materials. Skin is not plastic: light wraps past the
// terminator, red most (what subsurface scattering does), so shade falls off softly and warms at its edge.
// In previews the key light casts soft shadows (the nose's on the cheek, the jaw's on the neck): depth a flat face lacks.
struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
#ifdef DIRECTIONAL_LIGHT_SHADOWS
    sampler2D shadow_map;
    mat4 light_matrix;
#endif
};
struct PointLight {
    vec3 color;
    float intensity;
    float range;
    vec3 position;
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
uniform PointLight point_lights[MAX_POINT_LIGHTS];
uniform int n_point_lights;
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

#ifdef DIRECTIONAL_LIGHT_SHADOWS
// the key light's shadow (previews): the share of it a point receives, the light's depth map compared on the 5 x 5
// texels round it and weighed bilinearly (a 4-texel box that slides smoothly with the point: a penumbra of a few
// millimetres on a face, without steps). A surface must not shade itself: the point is looked up out along its normal,
// further the more it is turned from the light (its own depth changes fastest across the box there), and a bias of its
// slope to the light takes the rest (in the map's texels and depth: any model's units). A bias alone large enough for
// that let skin at a grazing angle under an overhang (the chin under an open mouth's lower lip) take the light.
float lit(mat4 light_matrix, sampler2D shadow_map, vec3 n, float nl)
{
    vec2 size = vec2(textureSize(shadow_map, 0));
    float texel = 2.0 / (length(vec3(light_matrix[0][0], light_matrix[1][0], light_matrix[2][0])) * size.x);
    float depth_unit = 0.5 * length(vec3(light_matrix[0][2], light_matrix[1][2], light_matrix[2][2]));
    float turned = sqrt(max(1.0 - nl * nl, 0.0));  // the sine of the light's angle from the normal
    float slope = min(turned / max(nl, 0.05), 6.0);
    vec4 p = light_matrix * vec4(frag_position + n * texel * (1.0 + 2.5 * turned), 1.0);
    vec3 c = p.xyz / p.w * 0.5 + 0.5;
    if (c.z > 1.0) {
        return 1.0;
    }
    float compare = c.z - depth_unit * texel * (1.0 + slope);
    vec2 at = c.xy * size - 0.5;
    vec2 base = floor(at);
    vec2 f = at - base;
    float corners = 0.0;  // the box's corners first: most points are wholly lit or wholly in shadow
    for (int k = 0; k < 4; k++) {
        corners += compare > texture(shadow_map, (base + vec2(k / 2, k % 2) * 4.0 - 1.5) / size).r ? 0.0 : 1.0;
    }
    if (corners == 0.0 || corners == 4.0) {
        return corners / 4.0;
    }
    float sum = 0.0;
    for (int y = -2; y <= 2; y++) {
        float wy = y == -2 ? 1.0 - f.y : (y == 2 ? f.y : 1.0);
        for (int x = -2; x <= 2; x++) {
            float wx = x == -2 ? 1.0 - f.x : (x == 2 ? f.x : 1.0);
            sum += (compare > texture(shadow_map, (base + vec2(x, y) + 0.5) / size).r ? 0.0 : 1.0) * wx * wy;
        }
    }
    return sum / 16.0;
}
#endif

// one distant light's wrapped diffuse and Blinn-Phong highlight
vec3 shine(vec3 l, vec3 radiance, vec3 n, vec3 v, vec3 albedo, vec3 wrap, float shininess, float spec_scale)
{
    float nl = dot(n, l);
    vec3 diffuse = max((vec3(nl) + wrap) / (1.0 + wrap), 0.0);
    vec3 h = normalize(l + v);
    float spec = spec_scale * pow(max(dot(n, h), 0.0), shininess) * max(nl, 0.0);
    return radiance * (diffuse * albedo / PI + vec3(spec));
}

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
    vec3 key_tint = vec3(1.0);  // what of the key light reaches the point, by colour
#ifdef DIRECTIONAL_LIGHT_SHADOWS
    // a preview's one directional light is its key (the fill is a distant point light): it casts shadows wherever its
    // wrapped light reaches (cut off sooner, a fold turned from it, as a nostril's, stayed lit inside a shadow as a
    // pale outline)
    float key_nl = dot(n, normalize(-directional_lights[0].direction));
    float facing = smoothstep(-0.35, -0.1, key_nl);
    if (facing > 0.0) {
        float shade = mix(1.0, lit(directional_lights[0].light_matrix, directional_lights[0].shadow_map, n, key_nl),
                          facing);
        // on flesh, light scattered under the skin reddens a shadow's edge and keeps a little red in it (grey
        // shadows read as dirt on a face)
        key_tint = pow(vec3(shade), vec3(1.0) / (1.0 + flesh * vec3(1.0, 0.25, 0.0)));
        key_tint.r = max(key_tint.r, 0.12 * flesh);
    }
#endif
    for (int i = 0; i < n_directional_lights; i++) {
        color += (i == 0 ? key_tint : vec3(1.0)) * shine(normalize(-directional_lights[i].direction),
                                                     directional_lights[i].color * directional_lights[i].intensity,
                                                     n, v, albedo, wrap, shininess, spec_scale);
    }
    for (int i = 0; i < n_point_lights; i++) {
        color += shine(normalize(point_lights[i].position - frag_position),
                       point_lights[i].color * point_lights[i].intensity, n, v, albedo, wrap, shininess, spec_scale);
    }
    frag_color = vec4(pow(clamp(color, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
