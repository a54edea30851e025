//! A generated flow of 300 steps (linear runs, splits and foreaches): it must compile.

use flow_core::prelude::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BigFlow {
    items: Vec<u32>,
}

#[flow]
impl BigFlow {
    #[step(next = s000)]
    fn start(&mut self) {}
    #[step(next = s001)]
    fn s000(&mut self) {}
    #[step(next = [s002, s003, s004])]
    fn s001(&mut self) {}
    #[step(next = s005)]
    fn s002(&mut self) {}
    #[step(next = s005)]
    fn s003(&mut self) {}
    #[step(next = s005)]
    fn s004(&mut self) {}
    #[step(next = s006)]
    fn s005(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s007)]
    fn s006(&mut self) {}
    #[step(foreach = items, next = s008)]
    fn s007(&mut self) {}
    #[step(next = s009)]
    fn s008(&mut self, _item: &u32) {}
    #[step(next = s010)]
    fn s009(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s011)]
    fn s010(&mut self) {}
    #[step(next = s012)]
    fn s011(&mut self) {}
    #[step(next = [s013, s014, s015])]
    fn s012(&mut self) {}
    #[step(next = s016)]
    fn s013(&mut self) {}
    #[step(next = s016)]
    fn s014(&mut self) {}
    #[step(next = s016)]
    fn s015(&mut self) {}
    #[step(next = s017)]
    fn s016(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s018)]
    fn s017(&mut self) {}
    #[step(foreach = items, next = s019)]
    fn s018(&mut self) {}
    #[step(next = s020)]
    fn s019(&mut self, _item: &u32) {}
    #[step(next = s021)]
    fn s020(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s022)]
    fn s021(&mut self) {}
    #[step(next = s023)]
    fn s022(&mut self) {}
    #[step(next = [s024, s025, s026])]
    fn s023(&mut self) {}
    #[step(next = s027)]
    fn s024(&mut self) {}
    #[step(next = s027)]
    fn s025(&mut self) {}
    #[step(next = s027)]
    fn s026(&mut self) {}
    #[step(next = s028)]
    fn s027(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s029)]
    fn s028(&mut self) {}
    #[step(foreach = items, next = s030)]
    fn s029(&mut self) {}
    #[step(next = s031)]
    fn s030(&mut self, _item: &u32) {}
    #[step(next = s032)]
    fn s031(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s033)]
    fn s032(&mut self) {}
    #[step(next = s034)]
    fn s033(&mut self) {}
    #[step(next = [s035, s036, s037])]
    fn s034(&mut self) {}
    #[step(next = s038)]
    fn s035(&mut self) {}
    #[step(next = s038)]
    fn s036(&mut self) {}
    #[step(next = s038)]
    fn s037(&mut self) {}
    #[step(next = s039)]
    fn s038(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s040)]
    fn s039(&mut self) {}
    #[step(foreach = items, next = s041)]
    fn s040(&mut self) {}
    #[step(next = s042)]
    fn s041(&mut self, _item: &u32) {}
    #[step(next = s043)]
    fn s042(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s044)]
    fn s043(&mut self) {}
    #[step(next = s045)]
    fn s044(&mut self) {}
    #[step(next = [s046, s047, s048])]
    fn s045(&mut self) {}
    #[step(next = s049)]
    fn s046(&mut self) {}
    #[step(next = s049)]
    fn s047(&mut self) {}
    #[step(next = s049)]
    fn s048(&mut self) {}
    #[step(next = s050)]
    fn s049(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s051)]
    fn s050(&mut self) {}
    #[step(foreach = items, next = s052)]
    fn s051(&mut self) {}
    #[step(next = s053)]
    fn s052(&mut self, _item: &u32) {}
    #[step(next = s054)]
    fn s053(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s055)]
    fn s054(&mut self) {}
    #[step(next = s056)]
    fn s055(&mut self) {}
    #[step(next = [s057, s058, s059])]
    fn s056(&mut self) {}
    #[step(next = s060)]
    fn s057(&mut self) {}
    #[step(next = s060)]
    fn s058(&mut self) {}
    #[step(next = s060)]
    fn s059(&mut self) {}
    #[step(next = s061)]
    fn s060(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s062)]
    fn s061(&mut self) {}
    #[step(foreach = items, next = s063)]
    fn s062(&mut self) {}
    #[step(next = s064)]
    fn s063(&mut self, _item: &u32) {}
    #[step(next = s065)]
    fn s064(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s066)]
    fn s065(&mut self) {}
    #[step(next = s067)]
    fn s066(&mut self) {}
    #[step(next = [s068, s069, s070])]
    fn s067(&mut self) {}
    #[step(next = s071)]
    fn s068(&mut self) {}
    #[step(next = s071)]
    fn s069(&mut self) {}
    #[step(next = s071)]
    fn s070(&mut self) {}
    #[step(next = s072)]
    fn s071(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s073)]
    fn s072(&mut self) {}
    #[step(foreach = items, next = s074)]
    fn s073(&mut self) {}
    #[step(next = s075)]
    fn s074(&mut self, _item: &u32) {}
    #[step(next = s076)]
    fn s075(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s077)]
    fn s076(&mut self) {}
    #[step(next = s078)]
    fn s077(&mut self) {}
    #[step(next = [s079, s080, s081])]
    fn s078(&mut self) {}
    #[step(next = s082)]
    fn s079(&mut self) {}
    #[step(next = s082)]
    fn s080(&mut self) {}
    #[step(next = s082)]
    fn s081(&mut self) {}
    #[step(next = s083)]
    fn s082(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s084)]
    fn s083(&mut self) {}
    #[step(foreach = items, next = s085)]
    fn s084(&mut self) {}
    #[step(next = s086)]
    fn s085(&mut self, _item: &u32) {}
    #[step(next = s087)]
    fn s086(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s088)]
    fn s087(&mut self) {}
    #[step(next = s089)]
    fn s088(&mut self) {}
    #[step(next = [s090, s091, s092])]
    fn s089(&mut self) {}
    #[step(next = s093)]
    fn s090(&mut self) {}
    #[step(next = s093)]
    fn s091(&mut self) {}
    #[step(next = s093)]
    fn s092(&mut self) {}
    #[step(next = s094)]
    fn s093(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s095)]
    fn s094(&mut self) {}
    #[step(foreach = items, next = s096)]
    fn s095(&mut self) {}
    #[step(next = s097)]
    fn s096(&mut self, _item: &u32) {}
    #[step(next = s098)]
    fn s097(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s099)]
    fn s098(&mut self) {}
    #[step(next = s100)]
    fn s099(&mut self) {}
    #[step(next = [s101, s102, s103])]
    fn s100(&mut self) {}
    #[step(next = s104)]
    fn s101(&mut self) {}
    #[step(next = s104)]
    fn s102(&mut self) {}
    #[step(next = s104)]
    fn s103(&mut self) {}
    #[step(next = s105)]
    fn s104(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s106)]
    fn s105(&mut self) {}
    #[step(foreach = items, next = s107)]
    fn s106(&mut self) {}
    #[step(next = s108)]
    fn s107(&mut self, _item: &u32) {}
    #[step(next = s109)]
    fn s108(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s110)]
    fn s109(&mut self) {}
    #[step(next = s111)]
    fn s110(&mut self) {}
    #[step(next = [s112, s113, s114])]
    fn s111(&mut self) {}
    #[step(next = s115)]
    fn s112(&mut self) {}
    #[step(next = s115)]
    fn s113(&mut self) {}
    #[step(next = s115)]
    fn s114(&mut self) {}
    #[step(next = s116)]
    fn s115(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s117)]
    fn s116(&mut self) {}
    #[step(foreach = items, next = s118)]
    fn s117(&mut self) {}
    #[step(next = s119)]
    fn s118(&mut self, _item: &u32) {}
    #[step(next = s120)]
    fn s119(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s121)]
    fn s120(&mut self) {}
    #[step(next = s122)]
    fn s121(&mut self) {}
    #[step(next = [s123, s124, s125])]
    fn s122(&mut self) {}
    #[step(next = s126)]
    fn s123(&mut self) {}
    #[step(next = s126)]
    fn s124(&mut self) {}
    #[step(next = s126)]
    fn s125(&mut self) {}
    #[step(next = s127)]
    fn s126(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s128)]
    fn s127(&mut self) {}
    #[step(foreach = items, next = s129)]
    fn s128(&mut self) {}
    #[step(next = s130)]
    fn s129(&mut self, _item: &u32) {}
    #[step(next = s131)]
    fn s130(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s132)]
    fn s131(&mut self) {}
    #[step(next = s133)]
    fn s132(&mut self) {}
    #[step(next = [s134, s135, s136])]
    fn s133(&mut self) {}
    #[step(next = s137)]
    fn s134(&mut self) {}
    #[step(next = s137)]
    fn s135(&mut self) {}
    #[step(next = s137)]
    fn s136(&mut self) {}
    #[step(next = s138)]
    fn s137(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s139)]
    fn s138(&mut self) {}
    #[step(foreach = items, next = s140)]
    fn s139(&mut self) {}
    #[step(next = s141)]
    fn s140(&mut self, _item: &u32) {}
    #[step(next = s142)]
    fn s141(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s143)]
    fn s142(&mut self) {}
    #[step(next = s144)]
    fn s143(&mut self) {}
    #[step(next = [s145, s146, s147])]
    fn s144(&mut self) {}
    #[step(next = s148)]
    fn s145(&mut self) {}
    #[step(next = s148)]
    fn s146(&mut self) {}
    #[step(next = s148)]
    fn s147(&mut self) {}
    #[step(next = s149)]
    fn s148(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s150)]
    fn s149(&mut self) {}
    #[step(foreach = items, next = s151)]
    fn s150(&mut self) {}
    #[step(next = s152)]
    fn s151(&mut self, _item: &u32) {}
    #[step(next = s153)]
    fn s152(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s154)]
    fn s153(&mut self) {}
    #[step(next = s155)]
    fn s154(&mut self) {}
    #[step(next = [s156, s157, s158])]
    fn s155(&mut self) {}
    #[step(next = s159)]
    fn s156(&mut self) {}
    #[step(next = s159)]
    fn s157(&mut self) {}
    #[step(next = s159)]
    fn s158(&mut self) {}
    #[step(next = s160)]
    fn s159(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s161)]
    fn s160(&mut self) {}
    #[step(foreach = items, next = s162)]
    fn s161(&mut self) {}
    #[step(next = s163)]
    fn s162(&mut self, _item: &u32) {}
    #[step(next = s164)]
    fn s163(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s165)]
    fn s164(&mut self) {}
    #[step(next = s166)]
    fn s165(&mut self) {}
    #[step(next = [s167, s168, s169])]
    fn s166(&mut self) {}
    #[step(next = s170)]
    fn s167(&mut self) {}
    #[step(next = s170)]
    fn s168(&mut self) {}
    #[step(next = s170)]
    fn s169(&mut self) {}
    #[step(next = s171)]
    fn s170(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s172)]
    fn s171(&mut self) {}
    #[step(foreach = items, next = s173)]
    fn s172(&mut self) {}
    #[step(next = s174)]
    fn s173(&mut self, _item: &u32) {}
    #[step(next = s175)]
    fn s174(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s176)]
    fn s175(&mut self) {}
    #[step(next = s177)]
    fn s176(&mut self) {}
    #[step(next = [s178, s179, s180])]
    fn s177(&mut self) {}
    #[step(next = s181)]
    fn s178(&mut self) {}
    #[step(next = s181)]
    fn s179(&mut self) {}
    #[step(next = s181)]
    fn s180(&mut self) {}
    #[step(next = s182)]
    fn s181(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s183)]
    fn s182(&mut self) {}
    #[step(foreach = items, next = s184)]
    fn s183(&mut self) {}
    #[step(next = s185)]
    fn s184(&mut self, _item: &u32) {}
    #[step(next = s186)]
    fn s185(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s187)]
    fn s186(&mut self) {}
    #[step(next = s188)]
    fn s187(&mut self) {}
    #[step(next = [s189, s190, s191])]
    fn s188(&mut self) {}
    #[step(next = s192)]
    fn s189(&mut self) {}
    #[step(next = s192)]
    fn s190(&mut self) {}
    #[step(next = s192)]
    fn s191(&mut self) {}
    #[step(next = s193)]
    fn s192(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s194)]
    fn s193(&mut self) {}
    #[step(foreach = items, next = s195)]
    fn s194(&mut self) {}
    #[step(next = s196)]
    fn s195(&mut self, _item: &u32) {}
    #[step(next = s197)]
    fn s196(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s198)]
    fn s197(&mut self) {}
    #[step(next = s199)]
    fn s198(&mut self) {}
    #[step(next = [s200, s201, s202])]
    fn s199(&mut self) {}
    #[step(next = s203)]
    fn s200(&mut self) {}
    #[step(next = s203)]
    fn s201(&mut self) {}
    #[step(next = s203)]
    fn s202(&mut self) {}
    #[step(next = s204)]
    fn s203(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s205)]
    fn s204(&mut self) {}
    #[step(foreach = items, next = s206)]
    fn s205(&mut self) {}
    #[step(next = s207)]
    fn s206(&mut self, _item: &u32) {}
    #[step(next = s208)]
    fn s207(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s209)]
    fn s208(&mut self) {}
    #[step(next = s210)]
    fn s209(&mut self) {}
    #[step(next = [s211, s212, s213])]
    fn s210(&mut self) {}
    #[step(next = s214)]
    fn s211(&mut self) {}
    #[step(next = s214)]
    fn s212(&mut self) {}
    #[step(next = s214)]
    fn s213(&mut self) {}
    #[step(next = s215)]
    fn s214(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s216)]
    fn s215(&mut self) {}
    #[step(foreach = items, next = s217)]
    fn s216(&mut self) {}
    #[step(next = s218)]
    fn s217(&mut self, _item: &u32) {}
    #[step(next = s219)]
    fn s218(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s220)]
    fn s219(&mut self) {}
    #[step(next = s221)]
    fn s220(&mut self) {}
    #[step(next = [s222, s223, s224])]
    fn s221(&mut self) {}
    #[step(next = s225)]
    fn s222(&mut self) {}
    #[step(next = s225)]
    fn s223(&mut self) {}
    #[step(next = s225)]
    fn s224(&mut self) {}
    #[step(next = s226)]
    fn s225(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s227)]
    fn s226(&mut self) {}
    #[step(foreach = items, next = s228)]
    fn s227(&mut self) {}
    #[step(next = s229)]
    fn s228(&mut self, _item: &u32) {}
    #[step(next = s230)]
    fn s229(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s231)]
    fn s230(&mut self) {}
    #[step(next = s232)]
    fn s231(&mut self) {}
    #[step(next = [s233, s234, s235])]
    fn s232(&mut self) {}
    #[step(next = s236)]
    fn s233(&mut self) {}
    #[step(next = s236)]
    fn s234(&mut self) {}
    #[step(next = s236)]
    fn s235(&mut self) {}
    #[step(next = s237)]
    fn s236(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s238)]
    fn s237(&mut self) {}
    #[step(foreach = items, next = s239)]
    fn s238(&mut self) {}
    #[step(next = s240)]
    fn s239(&mut self, _item: &u32) {}
    #[step(next = s241)]
    fn s240(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s242)]
    fn s241(&mut self) {}
    #[step(next = s243)]
    fn s242(&mut self) {}
    #[step(next = [s244, s245, s246])]
    fn s243(&mut self) {}
    #[step(next = s247)]
    fn s244(&mut self) {}
    #[step(next = s247)]
    fn s245(&mut self) {}
    #[step(next = s247)]
    fn s246(&mut self) {}
    #[step(next = s248)]
    fn s247(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s249)]
    fn s248(&mut self) {}
    #[step(foreach = items, next = s250)]
    fn s249(&mut self) {}
    #[step(next = s251)]
    fn s250(&mut self, _item: &u32) {}
    #[step(next = s252)]
    fn s251(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s253)]
    fn s252(&mut self) {}
    #[step(next = s254)]
    fn s253(&mut self) {}
    #[step(next = [s255, s256, s257])]
    fn s254(&mut self) {}
    #[step(next = s258)]
    fn s255(&mut self) {}
    #[step(next = s258)]
    fn s256(&mut self) {}
    #[step(next = s258)]
    fn s257(&mut self) {}
    #[step(next = s259)]
    fn s258(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s260)]
    fn s259(&mut self) {}
    #[step(foreach = items, next = s261)]
    fn s260(&mut self) {}
    #[step(next = s262)]
    fn s261(&mut self, _item: &u32) {}
    #[step(next = s263)]
    fn s262(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s264)]
    fn s263(&mut self) {}
    #[step(next = s265)]
    fn s264(&mut self) {}
    #[step(next = [s266, s267, s268])]
    fn s265(&mut self) {}
    #[step(next = s269)]
    fn s266(&mut self) {}
    #[step(next = s269)]
    fn s267(&mut self) {}
    #[step(next = s269)]
    fn s268(&mut self) {}
    #[step(next = s270)]
    fn s269(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s271)]
    fn s270(&mut self) {}
    #[step(foreach = items, next = s272)]
    fn s271(&mut self) {}
    #[step(next = s273)]
    fn s272(&mut self, _item: &u32) {}
    #[step(next = s274)]
    fn s273(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s275)]
    fn s274(&mut self) {}
    #[step(next = s276)]
    fn s275(&mut self) {}
    #[step(next = [s277, s278, s279])]
    fn s276(&mut self) {}
    #[step(next = s280)]
    fn s277(&mut self) {}
    #[step(next = s280)]
    fn s278(&mut self) {}
    #[step(next = s280)]
    fn s279(&mut self) {}
    #[step(next = s281)]
    fn s280(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s282)]
    fn s281(&mut self) {}
    #[step(foreach = items, next = s283)]
    fn s282(&mut self) {}
    #[step(next = s284)]
    fn s283(&mut self, _item: &u32) {}
    #[step(next = s285)]
    fn s284(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s286)]
    fn s285(&mut self) {}
    #[step(next = s287)]
    fn s286(&mut self) {}
    #[step(next = [s288, s289, s290])]
    fn s287(&mut self) {}
    #[step(next = s291)]
    fn s288(&mut self) {}
    #[step(next = s291)]
    fn s289(&mut self) {}
    #[step(next = s291)]
    fn s290(&mut self) {}
    #[step(next = s292)]
    fn s291(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s293)]
    fn s292(&mut self) {}
    #[step(foreach = items, next = s294)]
    fn s293(&mut self) {}
    #[step(next = s295)]
    fn s294(&mut self, _item: &u32) {}
    #[step(next = s296)]
    fn s295(&mut self, _inputs: Inputs<Self>) {}
    #[step(next = s297)]
    fn s296(&mut self) {}
    #[step(next = end)]
    fn s297(&mut self) {}
    #[step]
    fn end(&mut self) {}
}

fn main() {
    assert_eq!(BigFlow::graph().steps.len(), 300);
}
