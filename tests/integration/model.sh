#!/bin/bash
# model.sh - bulwark score, eval and train (issue 5): the shipped model on a
# committed sample of names it was not trained on (tests/data/model, drawn
# from the held-out split of scripts/train-model), the output contract of
# score (order kept, error objects, exit status), the refusal of missing,
# truncated and other-version model files, and a small training run.
#
# The AUC floors are not recorded results: each is the issue's goal for the
# pair minus three standard errors of an AUC estimate at that goal for the
# sample's sizes (Hanley & McNeil 1982), so the test fails when the model is
# clearly below the goal, not when a sample is unlucky.  The AUC that
# bulwark eval prints is also recomputed here from bulwark score's output.
. "$(dirname "$0")/lib.sh"

D=$BW_TEST_DATA/model
MODEL=$BW_SRCDIR/models/domain.model
export BULWARK_MODEL=$MODEL

# score: arguments, order kept, an error in place of a non-name
out=$("$BULWARK" score example.com 1.2.3.4 xjwqkzvbtr.top); rc=$?
is "$rc" 3 "score exits 3 when an input is not a name"
is "$(printf '%s\n' "$out" | wc -l)" 3 "score prints one line per input"
is "$(printf '%s\n' "$out" | cut -f2 | tr '\n' ' ')" "example.com 1.2.3.4 xjwqkzvbtr.top " \
	"score keeps the input order"
contains "$(printf '%s\n' "$out" | sed -n 2p)" "error: an ipv4" "a non-name gets an error line"
s1=$(printf '%s\n' "$out" | sed -n 1p | cut -f1)
s3=$(printf '%s\n' "$out" | sed -n 3p | cut -f1)
ok "$(awk -v a="$s1" -v b="$s3" 'BEGIN { exit !(a < 0.5 && b > 0.5) }'; echo $?)" \
	"example.com scores low ($s1), xjwqkzvbtr.top high ($s3)"

# --json from standard input, with an error object
json=$(printf 'example.com\nnot a name\nhxxp://evil-wallet-claim[.]xyz/login\n' |
	"$BULWARK" score --json -)
is "$(printf '%s\n' "$json" | wc -l)" 3 "score --json prints one object per line"
is "$(printf '%s\n' "$json" | jq -r '.name' | tr '\n' '|')" \
	"example.com|not a name|hxxp://evil-wallet-claim[.]xyz/login|" "--json keeps order and names"
is "$(printf '%s\n' "$json" | sed -n 2p | jq -r 'has("error") and (has("score") | not)')" true \
	"a non-name gets an error object"
is "$(printf '%s\n' "$json" | sed -n 1p | jq -r '(.score | type) + " " + (.why | type)')" \
	"number array" "a name gets a score and why"
is "$(printf '%s\n' "$json" | sed -n 3p | jq -r '.why | length > 0 and all(.[]; (.feature | type) == "string" and .contribution > 0)')" \
	true "why lists the features that pushed a high score up"
# the generated-names score, and the kind of a high score
is "$(printf '%s\n' "$json" | sed -n 1p | jq -r '(.generated | type) + " " + (has("kind") | tostring)')" \
	"number false" "a low score has a generated-names score and no kind"
json=$("$BULWARK" score --json xjwqkzvbtr.top blockchainnodeengine.com)
is "$(printf '%s\n' "$json" | jq -r '.kind' | tr '\n' ' ')" "generated phishing " \
	"a random string is of kind generated, a name of crypto words of kind phishing"
ok "$(printf '%s\n' "$json" | jq -e -s '.[0].generated > 0.5 and .[1].generated < 0.5 and .[1].score > 0.5' >/dev/null; echo $?)" \
	"... by the generated-names score (high, low) under a high score of record"

# the model file is refused when missing, truncated or of another version
err=$("$BULWARK" score --model "$T/none.model" example.com 2>&1); rc=$?
is "$rc" 1 "a missing model file is an error"
contains "$err" "cannot open model file" "... with a clear message"
head -c 4000 "$MODEL" >"$T/trunc.model"
err=$("$BULWARK" score --model "$T/trunc.model" example.com 2>&1); rc=$?
is "$rc" 1 "a truncated model file is refused"
contains "$err" "truncated model file" "... saying it is truncated"
cp "$MODEL" "$T/v1.model"
printf '\001' | dd of="$T/v1.model" bs=1 seek=8 conv=notrunc 2>/dev/null
err=$("$BULWARK" eval --model "$T/v1.model" --benign "$D/heldout-benign-radar.txt" \
	--malicious "$D/heldout-dga.txt" 2>&1); rc=$?
is "$rc" 1 "a model file of another version (1: no generated-names booster) is refused"
contains "$err" "format version 1, this bulwark reads version 2" "... saying which versions"

# AUC by Mann-Whitney from score output: FILE_BENIGN FILE_MALICIOUS
auc_of() {
	{
		"$BULWARK" score - <"$1" | awk -F'\t' '$1 != "-" { print $1, 0 }'
		"$BULWARK" score - <"$2" | awk -F'\t' '$1 != "-" { print $1, 1 }'
	} | sort -g -k1,1 | awk '
		{ s[NR] = $1; y[NR] = $2 }
		END {
			i = 1
			while (i <= NR) {
				j = i; bad = 0
				while (j <= NR && s[j] == s[i]) { bad += y[j]; j++ }
				rank += bad * (i + j - 1) / 2; nm += bad; nb += (j - i) - bad
				i = j
			}
			printf "%.4f\n", (rank - nm * (nm + 1) / 2) / (nm * nb)
		}'
}
# floor GOAL NB NM: goal minus three Hanley-McNeil standard errors
floor() {
	awk -v a="$1" -v nb="$2" -v nm="$3" 'BEGIN {
		q1 = a / (2 - a); q2 = 2 * a * a / (1 + a)
		se = sqrt((a * (1 - a) + (nm - 1) * (q1 - a * a) + (nb - 1) * (q2 - a * a)) / (nm * nb))
		printf "%.4f\n", a - 3 * se }'
}
check_pair() { # BENIGN MALICIOUS GOAL LABEL
	local j auc mine nb nm fl
	j=$("$BULWARK" eval --json --benign "$D/$1.txt" --malicious "$D/$2.txt")
	is "$(printf '%s' "$j" | jq -r '.score')" any "$4: eval measures the score of record"
	auc=$(printf '%s' "$j" | jq -r '.auc')
	nb=$(printf '%s' "$j" | jq -r '.benign')
	nm=$(printf '%s' "$j" | jq -r '.malicious')
	is "$nb $nm" "$(grep -c . "$D/$1.txt") $(grep -c . "$D/$2.txt")" "$4: every held-out name scored"
	mine=$(auc_of "$D/$1.txt" "$D/$2.txt")
	is "$(printf '%.4f' "$auc")" "$mine" "$4: eval's AUC is the Mann-Whitney AUC of score's output"
	fl=$(floor "$3" "$nb" "$nm")
	ok "$(awk -v a="$auc" -v f="$fl" 'BEGIN { exit !(a >= f) }'; echo $?)" \
		"$4: held-out AUC $auc >= $fl (goal $3 less 3 SE for $nb/$nm names)"
}
check_pair heldout-benign-radar heldout-dga 0.99 "generated vs Radar"
check_pair heldout-benign-radar heldout-phishing 0.97 "phishing vs Radar"
check_pair heldout-benign-clean heldout-dga 0.995 "generated vs top lists"

# eval's text output carries the counts behind the rates
txt=$("$BULWARK" eval --benign "$D/heldout-benign-clean.txt" --malicious "$D/heldout-dga.txt")
contains "$txt" "tpr@0.1%" "eval prints TPR at 0.1% FPR"
contains "$txt" "of 500 malicious" "... with its counts"
contains "$txt" "score       any" "... and which score it measured"

# --score generated: the generated-names score, the one the card's DGA goals use
j=$("$BULWARK" eval --json --score generated --benign "$D/heldout-benign-clean.txt" \
	--malicious "$D/heldout-dga.txt")
is "$(printf '%s' "$j" | jq -r '.score')" generated "eval --score generated says so"
auc=$(printf '%s' "$j" | jq -r '.auc')
fl=$(floor 0.995 500 500)
ok "$(awk -v a="$auc" -v f="$fl" 'BEGIN { exit !(a >= f) }'; echo $?)" \
	"generated-names score vs top lists: AUC $auc >= $fl"
g=$("$BULWARK" score --json - <"$D/heldout-dga.txt" | jq -r '.generated' | sort -g | sed -n 250p)
is "$(printf '%s' "$j" | jq -r '.malicious')" 500 "... over every held-out DGA name"
ok "$(awk -v g="$g" 'BEGIN { exit !(g > 0.5) }'; echo $?)" \
	"the median held-out DGA name has a generated-names score above 0.5 ($g)"
err=$("$BULWARK" eval --score phishing --benign "$D/heldout-benign-clean.txt" \
	--malicious "$D/heldout-dga.txt" 2>&1); rc=$?
is "$rc" 2 "eval --score takes any or generated only"

# train: a small model from the committed sample and the web-terms list
out=$("$BULWARK" train --benign "$D/train-benign-small.txt" \
	--malicious "$D/train-malicious-small.txt" \
	--words "$BW_SRCDIR/data/words/web-terms.txt" --rounds 30 --depth 4 \
	--out "$T/small.model" 2>&1); rc=$?
is "$rc" 0 "train writes a model"
contains "$out" "trained on 600 names" "train counts its names"
is "$(grep -a -o '"generated":0,' "$T/small.model" | head -1)" '"generated":0,' \
	"without --generated the generated-names booster is trained on every malicious name, and the file says so"
j=$("$BULWARK" eval --json --model "$T/small.model" --benign "$D/heldout-benign-radar.txt" \
	--malicious "$D/heldout-dga.txt")
auc=$(printf '%s' "$j" | jq -r '.auc')
# better than chance: 0.5 plus three standard errors of a random ranking
fl=$(awk 'BEGIN { printf "%.4f", 0.5 + 3 * sqrt((500 + 500 + 1) / (12 * 500 * 500)) }')
ok "$(awk -v a="$auc" -v f="$fl" 'BEGIN { exit !(a >= f) }'; echo $?)" \
	"a model trained on 600 names ranks held-out names better than chance ($auc >= $fl)"
err=$("$BULWARK" train --benign "$D/train-benign-small.txt" \
	--malicious "$D/train-malicious-small.txt" --words "$T/no-such-words" \
	--out "$T/x.model" 2>&1); rc=$?
is "$rc" 1 "train without its word list fails"
contains "$err" "cannot open word list" "... naming the word list"
# the training options of the shipped model: --generated, --weight (of the
# file before it, which it needs), --benign-weight, --eta
out=$("$BULWARK" train --benign "$D/train-benign-small.txt" \
	--generated "$D/train-malicious-small.txt" --weight 2 --benign-weight 3 --eta 0.3 \
	--generated-rounds 7 --generated-depth 4 --generated-eta 0.5 \
	--generated-benign-weight 2 \
	--words "$BW_SRCDIR/data/words/web-terms.txt" --rounds 10 --depth 3 \
	--out "$T/gen.model" 2>&1); rc=$?
is "$rc" 0 "train with --generated, --weight, --benign-weight, --eta and the --generated-* settings"
is "$(grep -a -o '"benign_weight":3' "$T/gen.model" | head -1)" '"benign_weight":3' \
	"the model's description records the benign weight"
is "$(grep -a -o '"generated_rounds":7,"generated_depth":4,"generated_eta":0.5,"generated_benign_weight":2' "$T/gen.model" | head -1)" \
	'"generated_rounds":7,"generated_depth":4,"generated_eta":0.5,"generated_benign_weight":2' \
	"... and the generated-names booster's settings"
err=$("$BULWARK" train --benign "$D/train-benign-small.txt" --weight 2 \
	--malicious "$D/train-malicious-small.txt" --out "$T/y.model" 2>&1); rc=$?
is "$rc" 2 "--weight before any malicious file is a usage error"
contains "$err" "--weight follows the --malicious or --generated file" "... saying why"
done_testing
